using Serverless.Ml.Training.Compute;

namespace Serverless.Ml.Training.Training;

/// <summary>Helper so callers can pick a backend by name later (only the CPU one exists now).</summary>
internal static class Backends
{
    public static IComputeBackend OrDefault(IComputeBackend? backend) => backend ?? CpuBackend.Default;
}
