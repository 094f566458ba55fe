using System.Security.Cryptography;
using System.Text;
using Serverless.Durable;
using Serverless.Metadata;
using Serverless.Ml.Components;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.FunctionApp.Pipelines;

/// <summary>
/// The pipeline services of one app: components, the metadata store, the blob store, the node runner, the
/// pipeline catalog (the configured folder of pipeline files) and the starter that every trigger uses.
/// </summary>
public sealed class PipelineRuntime : IDisposable
{
    private readonly SqliteMetadataStore metadata;

    /// <summary>Adds the ML components (CsvExampleGen ... Trainer, <see cref="MlComponents.Register"/>, and Evaluator,
    /// InfraValidator, Pusher, <see cref="ShippingComponents.Register"/>) with this runtime's metadata store; what the
    /// function app and the CLI do after creating the runtime.</summary>
    /// <param name="trialRunner">How the Tuner runs trials: durable activities in the gpu pool (the function app passes a
    /// <see cref="Serverless.Ml.Components.Tuner.DurableTrialRunner"/>), or null for trials inside the Tuner's activity.</param>
    /// <returns>This runtime.</returns>
    public PipelineRuntime WithMlComponents(Serverless.Ml.Components.Tuner.ITrialRunner? trialRunner = null)
    {
        MlComponents.Register(Components, metadata, trialRunner);
        // The Pusher's default (and only allowed) model repository is the host's serving repository root.
        ShippingComponents.Register(Components, metadata, new ShippingOptions { PushDestination = Path.GetFullPath(Options.ServingRepository) });
        return this;
    }

    /// <summary>Opens the stores named by <paramref name="options"/> (creating folders and files as needed).</summary>
    /// <param name="options">The settings.</param>
    /// <param name="client">The durable client runs are started with.</param>
    /// <param name="time">The clock of triggers and run ids; the system clock by default.</param>
    /// <param name="getSetting">Reads app settings (the artifact store's connection string); environment variables by default.</param>
    public PipelineRuntime(PipelineHostOptions options, DurableTaskClient client, TimeProvider? time = null, Func<string, string?>? getSetting = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(client);
        Options = options;
        Time = time ?? TimeProvider.System;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.MetadataPath))!);
        metadata = SqliteMetadataStore.Open(options.MetadataPath);
        Components = options.CreateComponentRegistry();
        Blobs = options.CreateBlobStore(getSetting ?? Environment.GetEnvironmentVariable);
        Roots = options.Roots;
        Runner = new NodeRunner(Components, metadata, Blobs, options: new NodeRunnerOptions { Roots = Roots });
        Client = client;
        Starter = new PipelineRunStarter(client, Components, Roots);
    }

    /// <summary>The settings.</summary>
    public PipelineHostOptions Options { get; }

    /// <summary>The folders parameter locations must resolve inside (from <see cref="PipelineHostOptions.Roots"/>).</summary>
    public PipelineRoots Roots { get; }

    /// <summary>The clock of triggers and run ids.</summary>
    public TimeProvider Time { get; }

    /// <summary>The components pipelines may use.</summary>
    public ComponentRegistry Components { get; }

    /// <summary>The metadata (lineage) store.</summary>
    public IMetadataStore Metadata => metadata;

    /// <summary>The blob store (artifacts, incoming data, receipts).</summary>
    public IBlobStore Blobs { get; }

    /// <summary>The node runner the node activities call.</summary>
    public NodeRunner Runner { get; }

    /// <summary>The durable client.</summary>
    public DurableTaskClient Client { get; }

    /// <summary>The run starter.</summary>
    public PipelineRunStarter Starter { get; }

    /// <summary>Finds the pipeline named <paramref name="name"/> (its <c>name</c>, or its file name without extension) in the pipelines folder.</summary>
    /// <returns>The loaded definition, or null when no file matches.</returns>
    /// <exception cref="PipelineValidationException">The matching file has syntax errors.</exception>
    public PipelineDefinition? FindPipeline(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (var file in PipelineFiles())
        {
            if (string.Equals(Path.GetFileNameWithoutExtension(file), name, StringComparison.Ordinal))
            {
                return PipelineLoader.LoadFile(file).DefinitionOrThrow();
            }
        }

        return ListPipelines().FirstOrDefault(p => p.Name == name);
    }

    /// <summary>The loadable pipelines of the folder (files with syntax errors are left out).</summary>
    public IReadOnlyList<PipelineDefinition> ListPipelines() =>
        PipelineFiles().Select(PipelineLoader.LoadFile).Where(r => r.IsSuccess).Select(r => r.Definition!).ToList();

    private IEnumerable<string> PipelineFiles() =>
        Directory.Exists(Options.PipelinesFolder)
            ? Directory.EnumerateFiles(Options.PipelinesFolder).Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal)
            : [];

    /// <summary>
    /// Copies blob <paramref name="blobName"/> to a local file under the download folder (named by <paramref name="runId"/>)
    /// and returns its path, so path-parameter components read it like any local data.
    /// </summary>
    public async Task<string> DownloadBlobAsync(string blobName, string runId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        var target = Path.Combine(Options.DownloadFolder, runId, blobName.Split('/')[^1]);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = target + ".partial";
        await using (var source = await Blobs.OpenReadAsync(blobName, cancellation).ConfigureAwait(false))
        await using (var file = File.Create(temp))
        {
            await source.CopyToAsync(file, cancellation).ConfigureAwait(false);
        }

        File.Move(temp, target, overwrite: true);
        return target;
    }

    /// <summary>
    /// Starts a run of <paramref name="pipeline"/>: <paramref name="dataPath"/>, when given, sets the pipeline's data parameter
    /// (<see cref="RunParameters.DataParameter"/>), then parameters are applied and the pipeline validated, locations
    /// against the allowed roots.
    /// </summary>
    /// <param name="pipeline">The pipeline from its file.</param>
    /// <param name="runId">The run id; null: a new unguessable one.</param>
    /// <param name="parameters">Run parameters.</param>
    /// <param name="dataPath">A local data location for the data parameter; it must lie inside an input root.</param>
    /// <param name="from">Re-execute this node and its downstream.</param>
    /// <param name="trigger">What started the run.</param>
    /// <param name="source">Who gave the parameters: HTTP and blob triggers are requests (only safe parameters), the CLI and
    /// host.json timers the operator.</param>
    /// <param name="cancellation">Cancels the start.</param>
    /// <exception cref="PipelineValidationException">Bad parameters, missing data, a location outside the roots, or an
    /// invalid pipeline: nothing started.</exception>
    public async Task<PipelineRunInput> StartAsync(PipelineDefinition pipeline, string? runId, IReadOnlyDictionary<string, string>? parameters, string? dataPath, string? from, string trigger, ParameterSource source, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var shown = new Dictionary<string, string>(parameters ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (dataPath is not null)
        {
            pipeline = RunParameters.WithData(pipeline, dataPath, Components);
            shown[RunParameters.DataParameter(pipeline, Components)!] = Path.GetFullPath(dataPath);
        }

        var input = Starter.Prepare(pipeline, runId ?? PipelineRunStarter.NewRunId(pipeline.Name, Time.GetUtcNow()), parameters, from, trigger, source);
        input = input with { Parameters = shown };
        await Starter.StartAsync(input, cancellation).ConfigureAwait(false);
        return input;
    }

    /// <summary>A short stable hash, for run ids derived from blob names and ETags.</summary>
    public static string ShortHash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    /// <inheritdoc/>
    public void Dispose() => metadata.Dispose();
}
