using System.Collections.Concurrent;

namespace Serverless.Ml.Components.Trainer;

/// <summary>
/// The Trainer's engines by name. <see cref="Default"/> (what <see cref="TrainerComponent"/> uses unless given another)
/// holds the managed engine; an app that references another engine's project registers it at start-up (the trainer app:
/// <c>TorchTrainerEngine.Register()</c>).
/// </summary>
/// <remarks>
/// A node whose engine is known but not registered in this process fails before it reads any input, with an error that
/// names the app that can run it: the pipeline stays valid everywhere (the function app validates pipelines whose
/// Trainer runs on the trainer app), and only the process that would train refuses, like a TFX executor image that
/// lacks the framework.
/// </remarks>
public sealed class TrainerEngines
{
    /// <summary>The built-in engine: our own trainer on the CPU.</summary>
    public const string Managed = "managed";

    /// <summary>TorchSharp (libtorch): built-in configurations and user models, on the CPU or CUDA.</summary>
    public const string TorchSharp = "torchsharp";

    private static readonly Dictionary<string, string> s_whereAvailable = new(StringComparer.Ordinal)
    {
        [TorchSharp] = "the trainer app (functions/Serverless.TrainerApp), the only app that references TorchSharp and libtorch",
    };

    private readonly ConcurrentDictionary<string, ITrainerEngine> _engines = new(StringComparer.Ordinal);

    /// <summary>A set with the managed engine.</summary>
    public TrainerEngines() => _engines[Managed] = ManagedTrainerEngine.Instance;

    /// <summary>The process-wide set the components use by default.</summary>
    public static TrainerEngines Default { get; } = new();

    /// <summary>Every engine name a pipeline may give, registered in this process or not.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = [Managed, TorchSharp];

    /// <summary>The engines registered here, sorted.</summary>
    public IReadOnlyList<string> Names => _engines.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Adds (or replaces) an engine under its <see cref="ITrainerEngine.Name"/>.</summary>
    /// <returns>This set.</returns>
    public TrainerEngines Register(ITrainerEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentException.ThrowIfNullOrWhiteSpace(engine.Name);
        _engines[engine.Name] = engine;
        return this;
    }

    /// <summary>True when <paramref name="name"/> is registered here.</summary>
    public bool Contains(string name) => _engines.ContainsKey(name);

    /// <summary>The engine registered as <paramref name="name"/>.</summary>
    /// <exception cref="TrainerEngineUnavailableException">It is not registered in this process; the message says where it is.</exception>
    public ITrainerEngine Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_engines.TryGetValue(name, out var engine)) return engine;
        var where = s_whereAvailable.TryGetValue(name, out var app) ? $"is available only in {app}" : "is not registered in any app";
        var process = Environment.ProcessPath is { } path ? Path.GetFileNameWithoutExtension(path) : "?";
        throw new TrainerEngineUnavailableException(name,
            $"parameter 'engine': engine '{name}' {where}; this process ({process}, pid {Environment.ProcessId}) " +
            $"has: {string.Join(", ", Names)}. Run the Trainer node on the trainer app (give the node pool: gpu so that it becomes a training job) or use engine: {Managed}.");
    }
}

/// <summary>The node asked for an engine this process does not have (see <see cref="TrainerEngines.Get"/>).</summary>
public sealed class TrainerEngineUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="engine"/> with a message saying where it is available.</summary>
    public TrainerEngineUnavailableException(string engine, string message) : base(message) => Engine = engine;

    /// <summary>Creates the exception (for tooling).</summary>
    public TrainerEngineUnavailableException() { }

    /// <summary>Creates the exception with a message.</summary>
    public TrainerEngineUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and cause.</summary>
    public TrainerEngineUnavailableException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The engine asked for.</summary>
    public string Engine { get; } = string.Empty;
}
