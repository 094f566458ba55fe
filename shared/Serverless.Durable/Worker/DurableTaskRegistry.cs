namespace Serverless.Durable;

/// <summary>Names a class-based orchestrator or activity (default: the class name).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class DurableTaskAttribute(string name) : Attribute
{
    /// <summary>The registered name.</summary>
    public string Name { get; } = name;
}

/// <summary>Puts a class-based activity in a worker pool (default <see cref="WorkerPools.Default"/>).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class WorkerPoolAttribute(string pool) : Attribute
{
    /// <summary>The pool name.</summary>
    public string Pool { get; } = pool;
}

/// <summary>
/// The orchestrators and activities a worker can run, class-based or function-based, as in
/// Microsoft.DurableTask's <c>DurableTaskRegistry</c>. Each activity belongs to a worker pool.
/// </summary>
public sealed class DurableTaskRegistry
{
    private readonly Dictionary<string, Func<ITaskOrchestrator>> _orchestrators = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (Func<ITaskActivity> Factory, string Pool)> _activities = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers a class-based orchestrator under its <see cref="DurableTaskAttribute"/> name or class name.</summary>
    public DurableTaskRegistry AddOrchestrator<T>() where T : ITaskOrchestrator, new() =>
        AddOrchestrator(NameOf(typeof(T)), () => new T());

    /// <summary>Registers an orchestrator factory under a name.</summary>
    public DurableTaskRegistry AddOrchestrator(TaskName name, Func<ITaskOrchestrator> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (!_orchestrators.TryAdd(name.Name, factory))
            throw new ArgumentException($"An orchestrator named '{name}' is already registered.", nameof(name));
        return this;
    }

    /// <summary>Registers a function-based orchestrator.</summary>
    public DurableTaskRegistry AddOrchestratorFunc<TInput, TOutput>(TaskName name, Func<TaskOrchestrationContext, TInput, Task<TOutput>> implementation)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        return AddOrchestrator(name, () => new FuncOrchestrator<TInput, TOutput>(implementation));
    }

    /// <summary>Registers a function-based orchestrator that takes no typed input.</summary>
    public DurableTaskRegistry AddOrchestratorFunc<TOutput>(TaskName name, Func<TaskOrchestrationContext, Task<TOutput>> implementation)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        return AddOrchestratorFunc<object?, TOutput>(name, (ctx, _) => implementation(ctx));
    }

    /// <summary>Registers a class-based activity; its pool comes from <see cref="WorkerPoolAttribute"/> unless given.</summary>
    public DurableTaskRegistry AddActivity<T>(string? pool = null) where T : ITaskActivity, new() =>
        AddActivity(NameOf(typeof(T)), () => new T(), pool ?? PoolOf(typeof(T)));

    /// <summary>Registers an activity factory under a name, in a pool.</summary>
    public DurableTaskRegistry AddActivity(TaskName name, Func<ITaskActivity> factory, string pool = WorkerPools.Default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrWhiteSpace(pool);
        if (!_activities.TryAdd(name.Name, (factory, pool)))
            throw new ArgumentException($"An activity named '{name}' is already registered.", nameof(name));
        return this;
    }

    /// <summary>Registers a function-based activity.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput, TOutput>(TaskName name, Func<TaskActivityContext, TInput, Task<TOutput>> implementation, string pool = WorkerPools.Default)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        return AddActivity(name, () => new FuncActivity<TInput, TOutput>(implementation), pool);
    }

    /// <summary>Registers a synchronous function-based activity.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput, TOutput>(TaskName name, Func<TaskActivityContext, TInput, TOutput> implementation, string pool = WorkerPools.Default)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        return AddActivityFunc<TInput, TOutput>(name, (ctx, input) => Task.FromResult(implementation(ctx, input)), pool);
    }

    internal bool TryCreateOrchestrator(string name, out ITaskOrchestrator? orchestrator)
    {
        if (_orchestrators.TryGetValue(name, out var f)) { orchestrator = f(); return true; }
        orchestrator = null;
        return false;
    }

    internal bool TryCreateActivity(string name, out ITaskActivity? activity)
    {
        if (_activities.TryGetValue(name, out var a)) { activity = a.Factory(); return true; }
        activity = null;
        return false;
    }

    /// <summary>The pool of a registered activity, or null if it is not registered here.</summary>
    public string? GetActivityPool(string name) => _activities.TryGetValue(name, out var a) ? a.Pool : null;

    /// <summary>The names of registered orchestrators.</summary>
    public IReadOnlyCollection<string> OrchestratorNames => _orchestrators.Keys;

    /// <summary>The names of registered activities.</summary>
    public IReadOnlyCollection<string> ActivityNames => _activities.Keys;

    private static string NameOf(Type t) =>
        (Attribute.GetCustomAttribute(t, typeof(DurableTaskAttribute)) as DurableTaskAttribute)?.Name ?? t.Name;

    private static string PoolOf(Type t) =>
        (Attribute.GetCustomAttribute(t, typeof(WorkerPoolAttribute)) as WorkerPoolAttribute)?.Pool ?? WorkerPools.Default;

    private sealed class FuncOrchestrator<TInput, TOutput>(Func<TaskOrchestrationContext, TInput, Task<TOutput>> f) : TaskOrchestrator<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input) => f(context, input);
    }

    private sealed class FuncActivity<TInput, TOutput>(Func<TaskActivityContext, TInput, Task<TOutput>> f) : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => f(context, input);
    }
}
