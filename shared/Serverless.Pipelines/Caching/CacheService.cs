using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.Pipelines;

/// <summary>An earlier execution whose outputs can stand in for a new one.</summary>
/// <param name="Execution">The earlier, successful execution.</param>
/// <param name="Outputs">Its outputs by channel, all live and intact in the blob store.</param>
public sealed record CacheHit(Execution Execution, IReadOnlyDictionary<string, ArtifactRef> Outputs);

/// <summary>
/// Finds a reusable execution by cache key, over the metadata store and the blob store. A candidate counts
/// only if it COMPLETEd, is of the same component type, recorded every declared output, every output is LIVE
/// in metadata, and every output's marker and files still exist with the recorded fingerprint and lengths.
/// Candidates are tried newest first.
/// </summary>
public sealed class CacheService
{
    /// <summary>The execution property that holds the cache key.</summary>
    public const string CacheKeyProperty = "cache_key";

    private readonly IMetadataStore metadata;
    private readonly ArtifactPublisher publisher;

    /// <summary>Creates the service.</summary>
    public CacheService(IMetadataStore metadata, IBlobStore blobs)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(blobs);
        this.metadata = metadata;
        publisher = new ArtifactPublisher(blobs);
    }

    /// <summary>Returns a reusable execution for <paramref name="cacheKey"/>, or null on a miss.</summary>
    public async Task<CacheHit?> LookupAsync(string cacheKey, ComponentSpec spec, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheKey);
        ArgumentNullException.ThrowIfNull(spec);
        var candidates = await metadata.GetExecutionsByPropertyAsync(CacheKeyProperty, cacheKey, cancellation).ConfigureAwait(false);
        foreach (var candidate in candidates.Where(e => e.State == ExecutionState.Complete && e.Type == spec.Type))
        {
            var io = await metadata.GetExecutionIoAsync(candidate.Id, cancellation).ConfigureAwait(false);
            var outputs = new Dictionary<string, ArtifactRef>(StringComparer.Ordinal);
            var usable = true;
            foreach (var output in spec.Outputs)
            {
                var recorded = io.Outputs.FirstOrDefault(o => o.Channel == output.Name)?.Artifact;
                if (recorded is null || recorded.State != ArtifactState.Live || recorded.Type != output.ArtifactType)
                {
                    usable = false;
                    break;
                }

                var reference = ArtifactRecords.ToRef(recorded);
                if (!await publisher.IsIntactAsync(reference.Uri, reference.Fingerprint, cancellation).ConfigureAwait(false))
                {
                    usable = false;
                    break;
                }

                outputs[output.Name] = reference;
            }

            if (usable)
            {
                return new CacheHit(candidate, outputs);
            }
        }

        return null;
    }
}

/// <summary>Conversions between metadata artifacts and <see cref="ArtifactRef"/>.</summary>
public static class ArtifactRecords
{
    /// <summary>The custom property holding an artifact's content fingerprint (reserved: executors cannot set it).</summary>
    public const string FingerprintProperty = "fingerprint";

    /// <summary>The reference form of a stored artifact: its custom properties minus the fingerprint.</summary>
    public static ArtifactRef ToRef(Artifact artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var fingerprint = artifact.CustomProperties.TryGetValue(FingerprintProperty, out var value) ? value.StringValue ?? string.Empty : string.Empty;
        var properties = artifact.CustomProperties
            .Where(p => p.Key != FingerprintProperty)
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return new ArtifactRef(artifact.Id, artifact.Type, artifact.Uri, fingerprint, properties);
    }
}
