using Serverless.Metadata;

namespace Serverless.Pipelines;

/// <summary>
/// Run cancellations recorded in the metadata store (every node activity, in any process, reads the same store): a context
/// of type <see cref="ContextType"/> named by the run id (a whole run; cleared when the run id is started again) or by an
/// incarnation <c>{runId}-{tag}</c> (one start of it; never cleared, so a stale activity of that start stays stopped).
/// </summary>
public sealed class MetadataRunCancellation : IRunCancellation
{
    /// <summary>The context type of cancellation records.</summary>
    public const string ContextType = "pipeline_run_cancellation";

    private readonly IMetadataStore metadata;
    private readonly TimeProvider time;
    private int typeRegistered;

    /// <summary>Creates the store of cancellations over <paramref name="metadata"/>.</summary>
    public MetadataRunCancellation(IMetadataStore metadata, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        this.metadata = metadata;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// The incarnation of an execution id the pipeline orchestrator made (<c>{runId}-{tag}-{nodeId}</c> gives
    /// <c>{runId}-{tag}</c>); null for any other shape.
    /// </summary>
    public static string? IncarnationOf(string runId, string? executionId, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(nodeId);
        return executionId is not null && executionId.Length > runId.Length + nodeId.Length + 2
            && executionId.StartsWith(runId + "-", StringComparison.Ordinal) && executionId.EndsWith("-" + nodeId, StringComparison.Ordinal)
            ? executionId[..^(nodeId.Length + 1)]
            : null;
    }

    /// <summary>Records that <paramref name="runId"/> (and, when known, its <paramref name="incarnation"/>) is canceled.</summary>
    public async Task CancelAsync(string runId, string? incarnation, string reason, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentNullException.ThrowIfNull(reason);
        foreach (var name in new[] { runId, incarnation }.OfType<string>())
        {
            await WriteAsync(name, true, reason, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>Clears the whole-run record before the run id is started again (incarnation records stay).</summary>
    public async Task ClearRunAsync(string runId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        if (await metadata.GetContextAsync(ContextType, runId, cancellation).ConfigureAwait(false) is not null)
        {
            await WriteAsync(runId, false, string.Empty, cancellation).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<string?> GetCancellationAsync(string runId, string? incarnation, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        foreach (var name in new[] { runId, incarnation }.OfType<string>())
        {
            var record = await metadata.GetContextAsync(ContextType, name, cancellation).ConfigureAwait(false);
            if (record is not null && record.CustomProperties.TryGetValue("canceled", out var canceled) && canceled.Type == PropertyType.Boolean && canceled.BoolValue)
            {
                return record.CustomProperties.TryGetValue("reason", out var reason) ? reason.StringValue : "canceled";
            }
        }

        return null;
    }

    private async Task WriteAsync(string name, bool canceled, string reason, CancellationToken cancellation)
    {
        if (Interlocked.Exchange(ref typeRegistered, 1) == 0)
        {
            await metadata.PutContextTypeAsync(ContextType, null, cancellation).ConfigureAwait(false);
        }

        await metadata.PutContextAsync(new Context
        {
            Type = ContextType,
            Name = name,
            CustomProperties = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
            {
                ["canceled"] = canceled,
                ["reason"] = reason,
                ["at"] = time.GetUtcNow().ToString("o", System.Globalization.CultureInfo.InvariantCulture),
            },
        }, cancellation).ConfigureAwait(false);
    }
}
