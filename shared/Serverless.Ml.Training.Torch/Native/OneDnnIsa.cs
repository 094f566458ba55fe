using System.Runtime.Intrinsics.X86;

namespace Serverless.Ml.Training.Torch.Native;

/// <summary>
/// Works around a oneDNN 3.7.1 bug in libtorch 2.10 (CPU): on AVX-512 machines the <c>jit:avx512_core</c> convolution
/// backward-data kernel, run on more than one thread with a channel count that is not a multiple of 16 (the channel
/// block), sometimes writes NaN or infinity into the input gradient; training a small CNN then diverges after a few
/// steps. With one thread, with 16 or 32 channels, or with oneDNN capped at AVX2 the gradients are exact (measured here:
/// 6 of 40 backward passes of an 8-channel 3x3 convolution broken with 2 threads, 0 of 40 capped). The cap is the
/// documented oneDNN setting <c>ONEDNN_MAX_CPU_ISA=AVX2</c>, which must be in the native environment before oneDNN's
/// first primitive, so it goes into the native environment (<see cref="NativeEnvironment"/>).
/// A value the user set (ONEDNN_ or DNNL_MAX_CPU_ISA) is left alone. Matrix products (Linear) go through MKL, not oneDNN,
/// and keep AVX-512.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class OneDnnIsa
{
    /// <summary>The variable oneDNN reads.</summary>
    public const string Variable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>Sets the cap when the CPU has AVX-512 and nobody chose an ISA; returns whether it did.</summary>
    public static bool CapOnAvx512() =>
        Avx512F.IsSupported && NativeEnvironment.Get("DNNL_MAX_CPU_ISA") is null && NativeEnvironment.SetDefault(Variable, "AVX2");
}
