using System.Security.Cryptography;
using System.Text;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using DurableTask.Core.Exceptions;
using Serverless.Metadata;
using Serverless.Ml.Components;
using Serverless.Pipelines;
using Serverless.Pipelines.Orchestration;
using Serverless.Storage;

namespace Serverless.Pipelines.Hosting;

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
        Cancellations = new MetadataRunCancellation(metadata, Time);
        Runner = new NodeRunner(Components, metadata, Blobs, options: new NodeRunnerOptions
        {
            Roots = Roots,
            Limits = options.Limits,
            Cancellation = new HostRunCancellation(Cancellations, client),
            ScratchDirectory = PrivateFiles.CreateDirectory(Path.GetFullPath(options.ScratchFolder)),
        });
        Client = client;
        Starter = new PipelineRunStarter(client, Components, Roots, options.Limits);
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

    /// <summary>Cancellations recorded for the node activities (the cancel route writes them).</summary>
    public MetadataRunCancellation Cancellations { get; }

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
                return PipelineLoader.LoadFile(file, Options.Limits).DefinitionOrThrow();
            }
        }

        return ListPipelines().FirstOrDefault(p => p.Name == name);
    }

    /// <summary>The loadable pipelines of the folder (files with syntax errors are left out).</summary>
    public IReadOnlyList<PipelineDefinition> ListPipelines() =>
        PipelineFiles().Select(f => PipelineLoader.LoadFile(f, Options.Limits)).Where(r => r.IsSuccess).Select(r => r.Definition!).ToList();

    private IEnumerable<string> PipelineFiles() =>
        Directory.Exists(Options.PipelinesFolder)
            ? Directory.EnumerateFiles(Options.PipelinesFolder).Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal)
            : [];

    /// <summary>
    /// Copies blob <paramref name="blobName"/> to a local file under the download folder (in the folder of
    /// <paramref name="runId"/>) and returns its path, so path-parameter components read it like any local data. Both
    /// names are checked first: nothing is written unless the target lies inside the download folder. The local file
    /// name is the blob's last segment, shortened with a hash when too long for the file system.
    /// </summary>
    /// <exception cref="PipelineValidationException">The run id or blob name is not valid.</exception>
    public async Task<string> DownloadBlobAsync(string blobName, string runId, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        ArgumentNullException.ThrowIfNull(runId);
        CheckNames(runId, blobName);
        var folder = Path.GetFullPath(Path.Combine(Options.DownloadFolder, runId));
        var root = Path.GetFullPath(Options.DownloadFolder);
        if (!folder.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new PipelineValidationException([new PipelineError($"run id {ErrorText.Quote(runId)} would leave the download folder", Field: "runId")]);
        }

        var target = Path.Combine(folder, LocalFileName(blobName));
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".download-{Guid.NewGuid():N}");
        try
        {
            await using (var source = await Blobs.OpenReadAsync(blobName, cancellation).ConfigureAwait(false))
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await source.CopyToAsync(file, cancellation).ConfigureAwait(false);
            }

            // The run's folder holds only this copy: a folder data parameter (CsvExampleGen's input_base) reads all of it.
            foreach (var stale in Directory.EnumerateFiles(folder).Where(f => f != temp))
            {
                File.Delete(stale);
            }

            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }

        return target;
    }

    /// <summary>
    /// The local name of a downloaded blob: its last segment with control and path characters replaced, at most 200 UTF-8
    /// bytes (a longer name keeps its start and extension around a hash of the whole), so a valid blob name always has a
    /// valid local file (ext4 allows 255 bytes per name).
    /// </summary>
    public static string LocalFileName(string blobName)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        var last = blobName.Split('/')[^1];
        var clean = string.Concat(last.Select(c => char.IsControl(c) || c is '\\' or '/' or ':' ? '_' : c)).TrimStart('.');
        if (clean.Length == 0)
        {
            clean = "data";
        }

        if (Encoding.UTF8.GetByteCount(clean) <= 200)
        {
            return clean;
        }

        var extension = Path.GetExtension(clean) is { Length: > 0 and <= 16 } e ? e : string.Empty;
        var stem = clean[..^extension.Length];
        while (Encoding.UTF8.GetByteCount(stem) > 160)
        {
            stem = stem[..^1];
        }

        if (stem.Length > 0 && char.IsHighSurrogate(stem[^1]))
        {
            stem = stem[..^1];
        }

        return $"{stem}-{ShortHash(blobName)}{extension}";
    }

    /// <summary>
    /// Starts a run of <paramref name="pipeline"/>. Order matters: every name (run id, blob) and every run parameter is checked
    /// before anything is written; then a data blob is copied under the download folder; then the pipeline is validated with
    /// its data and the allowed roots, and a failure deletes that copy again.
    /// </summary>
    /// <param name="pipeline">The pipeline from its file.</param>
    /// <param name="request">Run id, parameters, data location, trigger and who asked.</param>
    /// <param name="cancellation">Cancels the start.</param>
    /// <exception cref="PipelineValidationException">A bad name, parameter, data location (outside the roots, missing) or an
    /// invalid pipeline: nothing started, nothing left behind.</exception>
    /// <exception cref="OrchestrationAlreadyExistsException">A run with this id is still running (its data copy is untouched).</exception>
    public async Task<PipelineRunInput> StartAsync(PipelineDefinition pipeline, RunRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(request);
        var runId = request.RunId ?? PipelineRunStarter.NewRunId(pipeline.Name, Time.GetUtcNow());
        if (request.DataPath is not null && request.DataBlob is not null)
        {
            throw new PipelineValidationException([new PipelineError("give data or dataBlob, not both", Field: "data")]);
        }

        CheckNames(runId, request.DataBlob);
        var parameters = request.Parameters ?? new Dictionary<string, string>();
        RunParameters.Apply(pipeline, parameters, Components, request.Source, Options.Limits); // throws before any side effect
        var dataPath = request.DataPath;
        string? downloaded = null;
        if (request.DataBlob is { } blob)
        {
            if (await Client.GetInstanceAsync(runId, cancellation: cancellation).ConfigureAwait(false) is { IsCompleted: false })
            {
                throw new OrchestrationAlreadyExistsException($"run '{runId}' is still running");
            }

            if (await Blobs.GetPropertiesAsync(blob, cancellation).ConfigureAwait(false) is null)
            {
                throw new PipelineValidationException([new PipelineError($"data blob {ErrorText.Quote(blob)} does not exist", Field: "dataBlob")]);
            }

            dataPath = downloaded = await DownloadBlobAsync(blob, runId, cancellation).ConfigureAwait(false);
        }

        try
        {
            var shown = new Dictionary<string, string>(parameters, StringComparer.Ordinal);
            if (dataPath is not null)
            {
                pipeline = RunParameters.WithData(pipeline, dataPath, Components, ownFolder: downloaded is not null);
                shown[RunParameters.DataParameter(pipeline, Components)!] = Path.GetFullPath(dataPath);
            }

            var input = Starter.Prepare(pipeline, runId, parameters, request.From, request.Trigger, request.Source) with { Parameters = shown };
            if (await Client.GetInstanceAsync(runId, cancellation: cancellation).ConfigureAwait(false) is { IsCompleted: false })
            {
                throw new OrchestrationAlreadyExistsException($"run '{runId}' is still running");
            }

            // Starting a canceled run's id again is a new start: its whole-run cancellation no longer applies.
            await Cancellations.ClearRunAsync(runId, cancellation).ConfigureAwait(false);
            await Starter.StartAsync(input, cancellation).ConfigureAwait(false);
            return input;
        }
        catch (PipelineValidationException) when (downloaded is not null)
        {
            File.Delete(downloaded);
            throw;
        }
    }

    // Run ids become folder and blob path segments; blob names must follow the store's rules. Checked before any write.
    private static void CheckNames(string runId, string? blobName)
    {
        var errors = new List<PipelineError>();
        if (!Names.IsValid(runId))
        {
            errors.Add(new PipelineError($"run id {ErrorText.Quote(runId)} is not valid ({Names.Rule})", Field: "runId"));
        }

        if (blobName is not null)
        {
            try
            {
                BlobNames.Validate(blobName);
            }
            catch (ArgumentException)
            {
                errors.Add(new PipelineError($"blob name {ErrorText.Quote(blobName)} is not valid ('/'-separated segments, no '.' or '..', backslash or control characters, at most {BlobNames.MaxLength} characters)", Field: "dataBlob"));
            }
        }

        if (errors.Count > 0)
        {
            throw new PipelineValidationException(errors);
        }
    }

    /// <summary>A short stable hash, for run ids derived from blob names and ETags.</summary>
    public static string ShortHash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    /// <inheritdoc/>
    public void Dispose() => metadata.Dispose();
}
