namespace Serverless.Ml.Training.Torch;

/// <summary>Where a model trains: the pipeline file's <c>device: auto | cpu | cuda</c>.</summary>
public enum TorchDeviceKind
{
    /// <summary>CUDA when libtorch finds a GPU, else the CPU.</summary>
    Auto,

    /// <summary>The CPU.</summary>
    Cpu,

    /// <summary>The first CUDA device; an error where there is none.</summary>
    Cuda,
}
