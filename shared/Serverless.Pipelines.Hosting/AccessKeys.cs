using System.Security.Cryptography;
using System.Text;

namespace Serverless.Pipelines.Hosting;

/// <summary>
/// Access keys of the HTTP APIs (Durable Functions' <c>x-functions-key</c> / <c>code</c>): generated strong and random,
/// stored readable by the owner only, compared in constant time.
/// </summary>
public static class AccessKeys
{
    /// <summary>The environment variable that, when set, is the key (so it never appears on a command line).</summary>
    public const string EnvironmentVariable = "SERVERLESS_ACCESS_KEY";

    /// <summary>The key file's name in the home folder.</summary>
    public const string FileName = "access-key";

    /// <summary>
    /// True when <paramref name="given"/> is <paramref name="expected"/>. Both are hashed first, so the comparison
    /// (<see cref="CryptographicOperations.FixedTimeEquals"/>) takes the same time whatever the length or the first
    /// differing character of a guess.
    /// </summary>
    public static bool Matches(string? given, string expected)
    {
        ArgumentException.ThrowIfNullOrEmpty(expected);
        if (string.IsNullOrEmpty(given))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }

    /// <summary>A new key: 32 bytes from <see cref="RandomNumberGenerator"/>, base64url (43 characters, 256 bits).</summary>
    public static string Generate() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// Reads the key stored in <paramref name="path"/>, or creates the file with a new key: the folder with mode 0700 and
    /// the file with 0600 (created with that mode, never world-readable for a moment). A file another user could read is
    /// refused.
    /// </summary>
    /// <param name="path">The key file.</param>
    /// <param name="created">True when this call generated the key.</param>
    /// <exception cref="InvalidDataException">The file is empty or readable by other users.</exception>
    public static string LoadOrCreate(string path, out bool created)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        created = false;
        if (!File.Exists(path))
        {
            CreatePrivateDirectory(folder);
            var key = Generate();
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using (var stream = new FileStream(path, options))
                using (var writer = new StreamWriter(stream))
                {
                    writer.Write(key + "\n");
                }

                created = true;
                return key;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use theirs.
            }
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new InvalidDataException($"{path}: the access key file is readable or writable by other users; run 'chmod 600 {path}' (or delete it to generate a new key).");
        }

        var stored = File.ReadAllText(path).Trim();
        return stored.Length > 0 ? stored : throw new InvalidDataException($"{path}: the access key file is empty; delete it to generate a new key.");
    }

    /// <summary>Creates <paramref name="folder"/> (and missing parents) with mode 0700 on Unix.</summary>
    public static void CreatePrivateDirectory(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
