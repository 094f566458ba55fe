namespace Serverless.Pipelines;

/// <summary>
/// A pipeline component: a declaration (<see cref="Spec"/>) and a factory for its executor. Subclass it once
/// per component, with the spec and the executor in separate files of the component's folder (TFX's layout).
/// </summary>
public abstract class Component
{
    /// <summary>The declaration: inputs, outputs, parameters, version.</summary>
    public abstract ComponentSpec Spec { get; }

    /// <summary>Creates the executor; called once per execution, so executors may hold per-run state.</summary>
    public abstract IComponentExecutor CreateExecutor();
}

/// <summary>
/// The components a pipeline may use, by type name: the loader and validator resolve node components here,
/// and the node runner creates executors from it.
/// </summary>
public sealed class ComponentRegistry
{
    private readonly Dictionary<string, Component> components = new(StringComparer.Ordinal);

    /// <summary>A registry with the pipeline layer's built-in components (<c>FileCopy</c>, <c>CsvRowCount</c>).</summary>
    public static ComponentRegistry CreateWithBuiltIns()
    {
        var registry = new ComponentRegistry();
        registry.Register(new Components.FileCopy.FileCopyComponent());
        registry.Register(new Components.CsvRowCount.CsvRowCountComponent());
        return registry;
    }

    /// <summary>The registered type names, sorted.</summary>
    public IReadOnlyList<string> Types => components.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Adds a component; its spec is checked first.</summary>
    /// <exception cref="ArgumentException">The spec is malformed or the type name is taken.</exception>
    public ComponentRegistry Register(Component component)
    {
        ArgumentNullException.ThrowIfNull(component);
        var spec = component.Spec;
        spec.EnsureValid();
        if (!components.TryAdd(spec.Type, component))
        {
            throw new ArgumentException($"A component of type '{spec.Type}' is already registered.", nameof(component));
        }

        return this;
    }

    /// <summary>Finds a component by type name.</summary>
    public bool TryGet(string type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Component? component) =>
        components.TryGetValue(type, out component);

    /// <summary>Returns a component by type name.</summary>
    /// <exception cref="KeyNotFoundException">No such component (validation should have caught it).</exception>
    public Component Get(string type) =>
        TryGet(type, out var component)
            ? component
            : throw new KeyNotFoundException($"No component of type '{type}' is registered (registered: {string.Join(", ", Types)}).");
}
