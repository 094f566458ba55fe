namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// Which activity runs a node: a component type the host gives an activity of its own is called by the type's name
/// (<c>CsvExampleGen</c>, <c>Trainer</c>, ...), so each component shows as its own function in Azure Functions' monitoring
/// and in the history; any other type falls back to <see cref="RunPipelineNodeActivity.Name"/>. Every such activity runs
/// the same <see cref="NodeRunner"/> logic (<see cref="RunPipelineNodeActivity"/>).
/// </summary>
public sealed class ComponentActivities
{
    private readonly HashSet<string> own = new(StringComparer.Ordinal);

    /// <summary>The host registered no per-type activity: every node runs as <see cref="RunPipelineNodeActivity.Name"/>.</summary>
    public static ComponentActivities None { get; } = new([]);

    /// <summary>The host registered an activity named after each of <paramref name="componentTypes"/>.</summary>
    /// <exception cref="ArgumentException">A name is empty, is the fallback's name, or repeats another ignoring case (Durable
    /// Task names are case-insensitive, so two such activities would be one).</exception>
    public ComponentActivities(IEnumerable<string> componentTypes)
    {
        ArgumentNullException.ThrowIfNull(componentTypes);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var type in componentTypes)
        {
            ArgumentException.ThrowIfNullOrEmpty(type, nameof(componentTypes));
            if (string.Equals(type, RunPipelineNodeActivity.Name, StringComparison.OrdinalIgnoreCase) || !seen.Add(type))
            {
                throw new ArgumentException($"component type '{type}' cannot have an activity of its own: the name '{type}' is taken (activity names ignore case)", nameof(componentTypes));
            }

            own.Add(type);
        }
    }

    /// <summary>The component types with an activity of their own, sorted.</summary>
    public IReadOnlyList<string> Types => own.Order(StringComparer.Ordinal).ToList();

    /// <summary>The activity a node of <paramref name="componentType"/> is called as.</summary>
    public string NameFor(string componentType) => own.Contains(componentType) ? componentType : RunPipelineNodeActivity.Name;
}
