using System.Globalization;
using Serverless.Durable;

namespace Serverless.Pipelines.Orchestration;

/// <summary>
/// Starts pipeline runs through a <see cref="DurableTaskClient"/>: applies run parameters, validates the pipeline
/// with its data paths (so a missing file is an error before anything starts), and schedules
/// <see cref="PipelineOrchestrator"/> with the run id as instance id. Starting a finished run's id again
/// restarts it; completed nodes are then reused from the cache.
/// </summary>
public sealed class PipelineRunStarter
{
    private readonly DurableTaskClient client;
    private readonly ComponentRegistry components;

    /// <summary>Creates a starter.</summary>
    public PipelineRunStarter(DurableTaskClient client, ComponentRegistry components)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(components);
        this.client = client;
        this.components = components;
    }

    /// <summary>A new run id: <c>{pipeline}-{yyyyMMdd-HHmmss}-{4 hex}</c>, valid as an artifact path segment.</summary>
    public static string NewRunId(string pipeline, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{pipeline}-{now.UtcDateTime:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");

    /// <summary>
    /// Builds the orchestration input: parameters applied, pipeline validated with paths, <paramref name="from"/> checked.
    /// </summary>
    /// <exception cref="PipelineValidationException">Bad parameters, an invalid pipeline, a missing data path, an unknown <c>--from</c> node.</exception>
    public PipelineRunInput Prepare(PipelineDefinition definition, string runId, IReadOnlyDictionary<string, string>? parameters = null, string? from = null, string trigger = "api")
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        if (!Names.IsValid(runId))
        {
            throw new PipelineValidationException([new PipelineError($"run id '{runId}' is not valid ({Names.Rule})", Field: "run_id")]);
        }

        parameters ??= new Dictionary<string, string>();
        var applied = RunParameters.Apply(definition, parameters, components);
        var graph = PipelineValidator.Validate(applied, components, checkPaths: true).GraphOrThrow();
        if (from is not null && !graph.Nodes.Any(n => n.Id == from))
        {
            throw new PipelineValidationException([new PipelineError($"--from: no node '{from}' (nodes: {string.Join(", ", graph.Nodes.Select(n => n.Id))})", Field: "from")]);
        }

        return new PipelineRunInput { Pipeline = applied, RunId = runId, From = from, Trigger = trigger, Parameters = parameters };
    }

    /// <summary>Schedules the run; returns its id.</summary>
    /// <exception cref="Serverless.Durable.Backend.InstanceAlreadyExistsException">A run with this id is still running.</exception>
    public Task<string> StartAsync(PipelineRunInput input, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        return client.ScheduleNewOrchestrationInstanceAsync(PipelineOrchestrator.Name, input, new StartOrchestrationOptions(input.RunId), cancellation);
    }
}
