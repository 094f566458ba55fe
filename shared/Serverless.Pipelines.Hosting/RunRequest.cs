using Serverless.Pipelines.Orchestration;

namespace Serverless.Pipelines.Hosting;

/// <summary>What a trigger asks of <see cref="PipelineRuntime.StartAsync"/>: one run of a pipeline, with its parameters and
/// at most one data location.</summary>
public sealed record RunRequest
{
    /// <summary>The run id; null: a new unguessable one. Must follow the naming rule (it becomes a folder and blob segment).</summary>
    public string? RunId { get; init; }

    /// <summary>Run parameters (<c>node.param</c> or <c>param</c> -> value).</summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }

    /// <summary>A local data location for the data parameter; it must lie inside an input root.</summary>
    public string? DataPath { get; init; }

    /// <summary>A blob to use as data: copied under the download folder once every name and parameter is checked.</summary>
    public string? DataBlob { get; init; }

    /// <summary>Re-execute this node and its downstream even if cached.</summary>
    public string? From { get; init; }

    /// <summary>What started the run (<c>http</c>, <c>cli</c>, <c>blob:NAME@ETAG</c>, <c>timer:NAME@TIME</c>).</summary>
    public required string Trigger { get; init; }

    /// <summary>Who gave <see cref="Parameters"/>: HTTP and blob triggers are requests (only safe parameters), the CLI and
    /// host.json timers the operator.</summary>
    public required ParameterSource Source { get; init; }
}
