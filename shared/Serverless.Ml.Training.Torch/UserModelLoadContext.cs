using System.Reflection;
using System.Runtime.Loader;

namespace Serverless.Ml.Training.Torch;

/// <summary>
/// The load context of one user model assembly: what the host already resolves (TorchSharp, this library, the framework)
/// comes from the host, so the module types are the host's; the rest from the assembly's folder.
/// </summary>
internal sealed class UserModelLoadContext(string assemblyPath) : AssemblyLoadContext($"user-model:{Path.GetFileName(assemblyPath)}")
{
    private readonly string _directory = Path.GetDirectoryName(assemblyPath)!;
    private readonly AssemblyDependencyResolver? _resolver =
        File.Exists(Path.ChangeExtension(assemblyPath, ".deps.json")) ? new AssemblyDependencyResolver(assemblyPath) : null;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        try
        {
            // Shared with the host whenever the host can resolve it: one TorchSharp, one ITorchModelFactory.
            return Default.LoadFromAssemblyName(assemblyName);
        }
        catch (FileNotFoundException)
        {
        }
        var path = _resolver?.ResolveAssemblyToPath(assemblyName) ?? Path.Combine(_directory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver?.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}
