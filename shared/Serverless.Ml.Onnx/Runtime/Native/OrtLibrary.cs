using System.Runtime.InteropServices;

namespace Serverless.Ml.Onnx.Runtime.Native;

/// <summary>
/// Finds and loads libonnxruntime.so.1. The build copies it next to our assembly (see the .csproj);
/// <see cref="PathVariable"/> overrides the location, e.g. for a system-wide install.
/// </summary>
internal static class OrtLibrary
{
    public const string FileName = "libonnxruntime.so.1";
    public const string PathVariable = "SERVERLESS_ONNXRUNTIME_PATH";

    public static string? LoadedPath { get; private set; }

    public static IntPtr Load()
    {
        var candidates = new List<string>();
        var overridePath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(overridePath)) candidates.Add(overridePath);
        candidates.Add(Path.Combine(AppContext.BaseDirectory, FileName));
        var assemblyDir = Path.GetDirectoryName(typeof(OrtLibrary).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDir)) candidates.Add(Path.Combine(assemblyDir, FileName));

        foreach (var path in candidates.Distinct(StringComparer.Ordinal))
        {
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle))
            {
                LoadedPath = path;
                return handle;
            }
        }
        if (NativeLibrary.TryLoad(FileName, out var fromSearchPath))
        {
            LoadedPath = FileName;
            return fromSearchPath;
        }
        throw new DllNotFoundException(
            $"ONNX Runtime native library '{FileName}' not found (looked in: {string.Join(", ", candidates.Distinct(StringComparer.Ordinal))}, then the loader's search path). " +
            $"The build copies it from node_modules/onnxruntime-node: run './build.sh test' or 'npm ci --ignore-scripts' and rebuild, or set {PathVariable}. " +
            "Only linux-x64 is provided.");
    }
}
