using System.Globalization;
using System.Security.Cryptography;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

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
    private readonly PipelineRoots? roots;
    private readonly PipelineLimits limits;

    /// <summary>Creates a starter.</summary>
    /// <param name="client">The durable client runs are scheduled with.</param>
    /// <param name="components">The components pipelines may use.</param>
    /// <param name="roots">The folders locations must resolve inside; null: not checked (hosts always pass theirs).</param>
    /// <param name="limits">Size bounds; default <see cref="PipelineLimits.Default"/>.</param>
    public PipelineRunStarter(DurableTaskClient client, ComponentRegistry components, PipelineRoots? roots = null, PipelineLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(components);
        this.client = client;
        this.components = components;
        this.roots = roots;
        this.limits = limits ?? PipelineLimits.Default;
    }

    /// <summary>
    /// A new run id: <c>{pipeline}-{yyyyMMdd-HHmmss}-{24 hex}</c>, valid as an artifact path segment, with 96 bits from
    /// <see cref="RandomNumberGenerator"/>, so a run's id (and its status URL) cannot be guessed from another's. A long
    /// pipeline name is shortened to keep the id within the naming rule's 128 characters.
    /// </summary>
    public static string NewRunId(string pipeline, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipeline);
        var suffix = string.Create(CultureInfo.InvariantCulture, $"-{now.UtcDateTime:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))}");
        return (pipeline.Length > 64 ? pipeline[..64] : pipeline) + suffix;
    }

    /// <summary>
    /// Builds the orchestration input: parameters applied, pipeline validated with paths and allowed roots,
    /// <paramref name="from"/> checked. Nothing has been started or written when it throws.
    /// </summary>
    /// <param name="definition">The pipeline (from its file; a data location already applied with <see cref="RunParameters.WithData"/>).</param>
    /// <param name="runId">The run id.</param>
    /// <param name="parameters">Run parameters.</param>
    /// <param name="from">Re-execute this node and its downstream.</param>
    /// <param name="trigger">What started the run.</param>
    /// <param name="source">Who gave <paramref name="parameters"/>; default a run request, which may set only safe parameters.</param>
    /// <exception cref="PipelineValidationException">Bad parameters, an invalid pipeline, a missing data path, a location
    /// outside the allowed roots, an unknown <c>--from</c> node.</exception>
    public PipelineRunInput Prepare(PipelineDefinition definition, string runId, IReadOnlyDictionary<string, string>? parameters = null, string? from = null, string trigger = "api", ParameterSource source = ParameterSource.Request)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        if (!Names.IsValid(runId))
        {
            throw new PipelineValidationException([new PipelineError($"run id {ErrorText.Quote(runId)} is not valid ({Names.Rule})", Field: "run_id")]);
        }

        parameters ??= new Dictionary<string, string>();
        var applied = RunParameters.Apply(definition, parameters, components, source, limits);
        var graph = PipelineValidator.Validate(applied, components, new PipelineValidationOptions { Roots = roots, Limits = limits }).GraphOrThrow();
        if (from is not null && !graph.Nodes.Any(n => n.Id == from))
        {
            throw new PipelineValidationException([new PipelineError($"--from: no node '{from}' (nodes: {string.Join(", ", graph.Nodes.Select(n => n.Id))})", Field: "from")]);
        }

        return new PipelineRunInput { Pipeline = applied, RunId = runId, From = from, Trigger = trigger, Parameters = parameters };
    }

    /// <summary>Schedules the run; returns its id.</summary>
    /// <exception cref="InvalidOperationException">A run with this id is still running (DTFx's <c>OrchestrationAlreadyExistsException</c>).</exception>
    public Task<string> StartAsync(PipelineRunInput input, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        return client.ScheduleNewOrchestrationInstanceAsync(PipelineOrchestrator.Name, input, new StartOrchestrationOptions(input.RunId), cancellation);
    }
}
