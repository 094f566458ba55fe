namespace Serverless.Ml.Transform;

/// <summary>
/// Bounds on what a transform spec may ask for, checked while it is read and before any data is: a spec is user input
/// (a <c>module_file</c> or an inline <c>spec</c> parameter), and without bounds one 200 KB file nested 100,000 deep
/// overflowed the stack and ended the host, a YAML "billion laughs" of aliases grew without limit, and 100,000
/// features took 3.4 GB before the first row was read. Every bound has a setting to raise it; an exceeded bound is a
/// <see cref="TransformSpecFormatException"/> naming the place, the bound and the setting.
/// </summary>
public sealed class TransformSpecLimits
{
    /// <summary>The bounds used when none are given.</summary>
    public static TransformSpecLimits Default { get; } = new();

    /// <summary>
    /// Largest spec in characters of its text, counting what YAML aliases expand to (a file is checked by its size in
    /// bytes before it is read). Default 4,194,304 (4 MiB): a spec of 10,000 features fits many times.
    /// </summary>
    public int MaxSize { get; init; } = 4 << 20;

    /// <summary>Deepest nesting of mappings and sequences (objects and arrays). Default 64, System.Text.Json's default; a spec needs 4.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>YAML aliases (<c>*name</c>) in one spec. Default 1,000.</summary>
    public int MaxAliases { get; init; } = 1_000;

    /// <summary>Nodes (mappings, sequences, scalars) after alias expansion. Default 1,000,000.</summary>
    public int MaxNodes { get; init; } = 1_000_000;

    /// <summary>
    /// Features in one spec. Default 10,000. Each costs analyzer state while fitting (tens of KB: a quantile sketch,
    /// counts) in every shard's accumulator, and a column (or one per category) of every transformed batch.
    /// </summary>
    public int MaxFeatures { get; init; } = 10_000;
}
