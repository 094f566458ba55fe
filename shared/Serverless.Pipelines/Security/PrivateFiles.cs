using System.Runtime.InteropServices;

namespace Serverless.Pipelines;

/// <summary>
/// Files and folders only their owner can read: databases, keys, data copies, models and scratch space hold the user's data
/// and secrets, so the hosts create them 0600 / 0700 (on Unix) and never in a fixed shared folder under the system temp
/// directory, which another local user could create first.
/// </summary>
public static partial class PrivateFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Sets this process's file-creation mask to 077, so every file it creates from now on is at most 0600 and every folder
    /// 0700, whatever library creates it (SQLite, the blob store, ONNX Runtime). A host calls it once at start; no-op on Windows.
    /// </summary>
    public static void RestrictNewFiles()
    {
        if (!OperatingSystem.IsWindows())
        {
            _ = Umask(0x3F); // 077
        }
    }

    /// <summary>Creates <paramref name="path"/> and missing parents with mode 0700 (existing folders keep theirs); returns it.</summary>
    public static string CreateDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnly);
        }

        return path;
    }

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint Umask(uint mask);
}
