using System.Runtime.InteropServices;

namespace Serverless.Ml.Training.Torch.Native;

/// <summary>
/// The process's native environment (libc's <c>getenv</c>/<c>setenv</c>). Native libraries read their settings from it
/// when they initialise; <see cref="Environment.SetEnvironmentVariable(string, string)"/> changes only .NET's copy on
/// Linux, so settings for libtorch, OpenMP and oneDNN must be written here before those libraries load.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class NativeEnvironment
{
    /// <summary>The variable's value in the native environment, or null.</summary>
    public static string? Get(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    /// <summary>Sets <paramref name="name"/> unless it is already set (by the user: their value wins); true when it set it.</summary>
    public static bool SetDefault(string name, string value)
    {
        if (Get(name) is not null) return false;
        if (SetEnv(name, value, 0) != 0) throw new InvalidOperationException($"setenv({name}) failed: errno {Marshal.GetLastPInvokeError()}");
        return true;
    }

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [DllImport("libc", EntryPoint = "setenv", SetLastError = true)]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
