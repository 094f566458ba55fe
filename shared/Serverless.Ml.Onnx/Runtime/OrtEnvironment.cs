using System.Runtime.InteropServices;
using Serverless.Ml.Onnx.Runtime.Native;

namespace Serverless.Ml.Onnx.Runtime;

/// <summary>
/// The process-wide ONNX Runtime environment: the loaded library, its function table, one OrtEnv,
/// the CPU memory description and the default allocator. Created on first use and kept for the life
/// of the process (ORT requires the env to outlive every session, and there is no benefit in tearing
/// it down), so it is deliberately not disposable.
/// </summary>
public sealed unsafe class OrtEnvironment
{
    private const int LoggingLevelError = 3;  // ORT_LOGGING_LEVEL_ERROR: warnings (e.g. unused initializers) stay quiet
    private const int OrtArenaAllocator = 1;
    private const int OrtMemTypeDefault = 0;

    private static readonly Lazy<OrtEnvironment> s_instance = new(() => new OrtEnvironment(), LazyThreadSafetyMode.ExecutionAndPublication);

    private OrtEnvironment()
    {
        Api = OrtApi.Load();
        IntPtr env, memoryInfo, allocator;
        var logId = "serverless"u8;
        fixed (byte* id = logId)
        {
            // "serverless"u8 is null-terminated by the compiler.
            Api.Check(Api.CreateEnv(LoggingLevelError, id, &env), "Creating the ONNX Runtime environment");
        }
        Api.Check(Api.CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &memoryInfo), "Creating CPU memory info");
        Api.Check(Api.GetAllocatorWithDefaultOptions(&allocator), "Getting the default allocator");
        Handle = env;
        CpuMemoryInfo = memoryInfo;
        DefaultAllocator = allocator;
    }

    /// <summary>The environment, loading ONNX Runtime on first access.</summary>
    /// <exception cref="DllNotFoundException">libonnxruntime.so.1 is not next to the application.</exception>
    public static OrtEnvironment Instance => s_instance.Value;

    /// <summary>The ONNX Runtime version, e.g. <c>1.30.0</c>.</summary>
    public string Version => Api.Version;

    /// <summary>Where the native library was loaded from.</summary>
    public string LibraryPath => OrtLibrary.LoadedPath ?? "";

    internal OrtApi Api { get; }

    internal IntPtr Handle { get; }

    internal IntPtr CpuMemoryInfo { get; }

    internal IntPtr DefaultAllocator { get; }

    /// <summary>Copies and frees a string ORT allocated with the default allocator.</summary>
    internal string TakeAllocatedString(byte* value)
    {
        try
        {
            return Marshal.PtrToStringUTF8((IntPtr)value) ?? "";
        }
        finally
        {
            Api.Check(Api.AllocatorFree(DefaultAllocator, value));
        }
    }
}
