using TorchSharp;

namespace Serverless.Ml.Training.Torch;

/// <summary>Parses and resolves the <c>device</c> setting into a libtorch device.</summary>
public static class TorchDevices
{
    /// <summary>Parses <c>auto</c>, <c>cpu</c> or <c>cuda</c> (any case).</summary>
    /// <exception cref="ArgumentException">Another value; the message names the setting and the accepted values.</exception>
    public static TorchDeviceKind Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "auto" => TorchDeviceKind.Auto,
            "cpu" => TorchDeviceKind.Cpu,
            "cuda" => TorchDeviceKind.Cuda,
            _ => throw new ArgumentException($"setting 'device': '{value}' is not auto, cpu or cuda", nameof(value)),
        };
    }

    /// <summary>The device for <paramref name="kind"/>: auto picks CUDA when libtorch finds a GPU.</summary>
    /// <exception cref="InvalidOperationException"><see cref="TorchDeviceKind.Cuda"/> on a machine where libtorch finds no GPU.</exception>
    public static torch.Device Resolve(TorchDeviceKind kind)
    {
        var cuda = TorchRuntime.CudaAvailable;
        return kind switch
        {
            TorchDeviceKind.Cpu => torch.CPU,
            TorchDeviceKind.Auto => cuda ? torch.CUDA : torch.CPU,
            TorchDeviceKind.Cuda when cuda => torch.CUDA,
            TorchDeviceKind.Cuda => throw new InvalidOperationException(
                "setting 'device': cuda was requested but libtorch finds no CUDA device on this machine (this build uses TorchSharp-cpu, " +
                "whose libtorch has no CUDA support; a GPU machine needs the libtorch-cuda runtime package). Use device: auto or cpu to train on the CPU."),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown device kind."),
        };
    }
}
