using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;

namespace Serverless.Ml.Training.Torch;

/// <summary>
/// A user's model code, named in the pipeline file by assembly path and type name (TFX's <c>module_file</c>): the
/// loaded <see cref="ITorchModelFactory"/> and the assembly's content hash, which belongs in the Trainer's cache key so
/// that changed model code retrains.
/// </summary>
/// <remarks>
/// The assembly loads into its own <see cref="System.Runtime.Loader.AssemblyLoadContext"/>: TorchSharp, this library and
/// the framework resolve to the host's copies (one <c>Module</c> type, one libtorch), the assembly's other dependencies
/// from its own folder (its <c>.deps.json</c> when present). A file loads once per content hash; a changed file at the same
/// path loads again into a new context, so a long-running trainer picks up new model code without a restart.
/// </remarks>
public sealed class TorchUserModel
{
    private static readonly ConcurrentDictionary<string, Assembly> s_loaded = new(StringComparer.Ordinal);

    private TorchUserModel(string assemblyPath, string typeName, string contentHash, ITorchModelFactory factory)
    {
        AssemblyPath = assemblyPath;
        TypeName = typeName;
        ContentHash = contentHash;
        Factory = factory;
    }

    /// <summary>The assembly file (full path).</summary>
    public string AssemblyPath { get; }

    /// <summary>The factory's full type name.</summary>
    public string TypeName { get; }

    /// <summary>Lowercase hex SHA-256 of the assembly file's bytes (see <see cref="ComputeContentHash"/>).</summary>
    public string ContentHash { get; }

    /// <summary>An instance of the factory type.</summary>
    public ITorchModelFactory Factory { get; }

    /// <summary>The architecture prefix of models it builds: <c>user:{TypeName}@{ContentHash}</c>.</summary>
    public string Architecture => $"user:{TypeName}@{ContentHash}";

    /// <summary>
    /// The content hash of an assembly file: lowercase hex SHA-256 of its bytes. A caller that must not load
    /// TorchSharp (the function app computing a cache key) gets the same value from any SHA-256 of the file.
    /// </summary>
    public static string ComputeContentHash(string assemblyPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(assemblyPath);
        using var stream = File.OpenRead(assemblyPath);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Loads <paramref name="typeName"/> from the assembly at <paramref name="assemblyPath"/> and creates the factory.</summary>
    /// <exception cref="FileNotFoundException">No such assembly file.</exception>
    /// <exception cref="ArgumentException">The file is not a .NET assembly, or the type is missing, abstract, not an <see cref="ITorchModelFactory"/> or has no public parameterless constructor; the message names the assembly and the type.</exception>
    public static TorchUserModel Load(string assemblyPath, string typeName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(assemblyPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        TorchRuntime.Initialize();
        var full = Path.GetFullPath(assemblyPath);
        if (!File.Exists(full)) throw new FileNotFoundException($"model assembly '{full}' (setting 'module_file') does not exist.", full);
        var hash = ComputeContentHash(full);
        Assembly assembly;
        try
        {
            assembly = s_loaded.GetOrAdd(full + "@" + hash, _ => new UserModelLoadContext(full).LoadFromAssemblyPath(full));
        }
        catch (BadImageFormatException e)
        {
            throw new ArgumentException($"model assembly '{full}' is not a .NET assembly: {e.Message}", nameof(assemblyPath), e);
        }

        var type = assembly.GetType(typeName, throwOnError: false);
        if (type is null)
        {
            var candidates = Factories(assembly).Select(t => t.FullName).ToList();
            throw new ArgumentException(
                $"model assembly '{full}' has no type '{typeName}' (setting 'model_type'); its {nameof(ITorchModelFactory)} types: " +
                (candidates.Count == 0 ? "none" : string.Join(", ", candidates)), nameof(typeName));
        }
        if (!typeof(ITorchModelFactory).IsAssignableFrom(type))
            throw new ArgumentException($"type '{typeName}' in '{full}' does not implement {typeof(ITorchModelFactory).FullName}.", nameof(typeName));
        if (type.IsAbstract || type.GetConstructor(Type.EmptyTypes) is null)
            throw new ArgumentException($"type '{typeName}' in '{full}' must be a concrete class with a public parameterless constructor.", nameof(typeName));
        var factory = (ITorchModelFactory)Activator.CreateInstance(type)!;
        return new TorchUserModel(full, type.FullName!, hash, factory);
    }

    private static IEnumerable<Type> Factories(Assembly assembly)
    {
        Type?[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types;
        }
        return types.OfType<Type>().Where(t => typeof(ITorchModelFactory).IsAssignableFrom(t) && !t.IsAbstract);
    }
}
