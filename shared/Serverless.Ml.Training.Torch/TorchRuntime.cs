using Serverless.Ml.Training.Torch.Native;
using TorchSharp;

namespace Serverless.Ml.Training.Torch;

/// <summary>
/// The process-wide libtorch set-up: loads TorchSharp's native libraries (fixing the libstdc++ version requirement on
/// systems older than GCC 13, capping oneDNN at AVX2 against a convolution bug on AVX-512 machines, and making idle
/// OpenMP threads sleep instead of spin; see the README), and sets libtorch's thread count. Every entry point of this library
/// calls <see cref="Initialize"/> first; an app may call it at start-up to fail early.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lock s_gate = new();

    /// <summary>
    /// Held while libtorch's process-wide generator is seeded and used (building a model, a training step's forward
    /// pass), so trainings running at the same time in one process each get their own reproducible random numbers.
    /// </summary>
    internal static Lock RandomGate { get; } = new();
    private static bool s_initialized;

    /// <summary>The <c>libLibTorchSharp.so</c> that was loaded, or null where TorchSharp found it itself (not Linux, or not in the app folder).</summary>
    public static string? NativeLibraryPath { get; private set; }

    /// <summary>
    /// True when the loaded library's <c>GLIBCXX_3.4.32</c> requirement is weakened: this process or an earlier one
    /// found that the system's libstdc++ lacks the version and edited the copy in the app folder.
    /// </summary>
    public static bool AppliedLibStdCxxFix { get; private set; }

    /// <summary>
    /// True when this process capped oneDNN at AVX2 (<c>ONEDNN_MAX_CPU_ISA</c>) to avoid its AVX-512 convolution
    /// backward bug (NaN input gradients with few channels on several threads; see the README).
    /// </summary>
    public static bool CappedOneDnnAtAvx2 { get; private set; }

    /// <summary>
    /// True when this process set <c>OMP_WAIT_POLICY=PASSIVE</c> for libtorch's OpenMP threads (the user had set neither
    /// it nor <c>GOMP_SPINCOUNT</c>): idle threads sleep instead of spinning, which on a shared or CPU-quota-limited
    /// machine is the difference between seconds and minutes (see the README).
    /// </summary>
    public static bool SetPassiveOpenMpWait { get; private set; }

    /// <summary>Loads libtorch once per process. Thread-safe; later calls return at once.</summary>
    /// <exception cref="InvalidOperationException">The native library cannot be loaded; the message says why.</exception>
    public static void Initialize()
    {
        lock (s_gate)
        {
            if (s_initialized) return;
            if (OperatingSystem.IsLinux())
            {
                // Both must be in the native environment before libgomp (loaded with libtorch) and oneDNN initialise.
                CappedOneDnnAtAvx2 = OneDnnIsa.CapOnAvx512();
                SetPassiveOpenMpWait = NativeEnvironment.Get("GOMP_SPINCOUNT") is null && NativeEnvironment.SetDefault("OMP_WAIT_POLICY", "PASSIVE");
            }
            if (OperatingSystem.IsLinux() && LibTorchSharpLoader.Find() is { } path)
            {
                try
                {
                    LibTorchSharpLoader.Load(path);
                    AppliedLibStdCxxFix = ElfVersionNeeds.Read(path).Requirements().Any(r => r.Version == LibTorchSharpLoader.MissingVersion && r.Weak);
                }
                catch (DllNotFoundException e)
                {
                    throw new InvalidOperationException($"TorchSharp's native library {path} does not load: {e.Message}", e);
                }
                NativeLibraryPath = path;
            }
            torch.InitializeDeviceType(DeviceType.CPU);
            s_initialized = true;
        }
    }

    /// <summary>True when libtorch sees a CUDA device (always false with the TorchSharp-cpu package).</summary>
    public static bool CudaAvailable
    {
        get
        {
            Initialize();
            return torch.cuda.is_available();
        }
    }

    /// <summary>
    /// Sets libtorch's intra-op thread count for the whole process (libtorch has no per-model setting). The benchmark
    /// uses 2, like the managed trainer's figure; the default is libtorch's (one per core).
    /// </summary>
    public static void SetThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        Initialize();
        torch.set_num_threads(threads);
    }
}
