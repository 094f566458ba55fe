namespace Serverless.Dashboard;

// The JSON shapes of the dashboard routes (camelCase on the wire). Internal: the page is their only reader.

/// <summary>An execution as the page shows it.</summary>
internal sealed record ExecutionView(long Id, string Type, string? Name, string State, string? Node, string? RunId, string? Pipeline, string? Error, long? CachedFrom, long? Starts, DateTimeOffset CreateTime, DateTimeOffset LastUpdateTime);

/// <summary>An artifact as the page shows it.</summary>
internal sealed record ArtifactView(long Id, string Type, string Uri, string State, string Label, IReadOnlyDictionary<string, object?> Properties, IReadOnlyDictionary<string, object?> CustomProperties, DateTimeOffset CreateTime);

/// <summary>An artifact read or written through a channel.</summary>
internal sealed record ChannelArtifactView(string Channel, ArtifactView Artifact);

/// <summary>A node's execution in a run with its inputs and outputs.</summary>
internal sealed record NodeExecution(ExecutionView Execution, IReadOnlyList<ChannelArtifactView> Inputs, IReadOnlyList<ChannelArtifactView> Outputs);

/// <summary>A file of an artifact (from its completion marker).</summary>
internal sealed record ArtifactFileView(string Path, long Length, bool Served);

/// <summary>An artifact page.</summary>
internal sealed record ArtifactDetail(ArtifactView Artifact, IReadOnlyList<ExecutionView> Producers, IReadOnlyList<ExecutionView> Consumers, IReadOnlyList<ArtifactFileView> Files, LineageGraph Lineage);

/// <summary>An artifact (<c>a{id}</c>) or execution (<c>e{id}</c>) in a lineage graph.</summary>
internal sealed record LineageNode(string Key, string Kind, long Id, string Type, string State, string Label, string? Node, string? RunId);

/// <summary>Data flow: artifact -> execution that read it, execution -> artifact it wrote.</summary>
internal sealed record LineageEdge(string From, string To);

/// <summary>Upstream and downstream of one artifact; <c>Truncated</c> when the downstream walk stopped at the size limit.</summary>
internal sealed record LineageGraph(string Root, IReadOnlyList<LineageNode> Nodes, IReadOnlyList<LineageEdge> Edges, bool Truncated);

/// <summary>A recorded push: the PushedModel artifact, the run, the blessing and evaluation it was pushed on.</summary>
internal sealed record PushView(long ArtifactId, DateTimeOffset PushedAt, string? RunId, long? BlessingArtifactId, bool? Blessed, long? EvaluationArtifactId, long? ModelArtifactId);

/// <summary>A version of a model in the serving repository.</summary>
internal sealed record ModelVersionView(long Version, bool Ready, bool Serving, PushView? Push);

/// <summary>A model and its versions, newest first.</summary>
internal sealed record ModelView(string Name, IReadOnlyList<ModelVersionView> Versions);

/// <summary>An opened artifact file, or why not.</summary>
internal sealed record FileResult(Stream? Content, string? ContentType, string? Error, int Status);
