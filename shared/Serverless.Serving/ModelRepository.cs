using System.Globalization;
using Serverless.Storage;

namespace Serverless.Serving;

/// <summary>
/// The model repository over the blob-store port: <c>{model}/{version}/model.onnx</c>, then the completion
/// marker <c>{model}/{version}/_READY</c> written last. A version without the marker is half-pushed and is
/// never loaded, so a server never sees a partial model. Versions are positive integers (TF Serving's
/// layout); the Pusher writes the next one with <see cref="PublishVersionAsync(string, long, Stream, CancellationToken)"/>.
/// </summary>
public sealed class ModelRepository
{
    /// <summary>The model file's name inside a version directory.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>The completion marker's name; written after the model file.</summary>
    public const string ReadyMarkerName = "_READY";

    /// <summary>Creates a repository over <paramref name="store"/>, optionally under a name prefix (e.g. <c>serving/</c>).</summary>
    public ModelRepository(IBlobStore store, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(prefix);
        Store = store;
        Prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
    }

    /// <summary>The underlying store.</summary>
    public IBlobStore Store { get; }

    /// <summary>The name prefix every model lives under ("" for the store's root).</summary>
    public string Prefix { get; }

    /// <summary>A description for logs and errors.</summary>
    public string Description => Prefix.Length == 0 ? Store.Description : $"{Store.Description}/{Prefix}";

    /// <summary>The blob name of a version's model file.</summary>
    public string ModelBlobName(string model, long version) => $"{Prefix}{ValidateModelName(model)}/{ValidateVersion(version)}/{ModelFileName}";

    /// <summary>The blob name of a version's completion marker.</summary>
    public string MarkerBlobName(string model, long version) => $"{Prefix}{ValidateModelName(model)}/{ValidateVersion(version)}/{ReadyMarkerName}";

    /// <summary>Names of the models that have at least one version directory, in ordinal order.</summary>
    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellation = default)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var blob in Store.ListAsync(Prefix, cancellation))
        {
            var rest = blob.Name.AsSpan(Prefix.Length);
            var slash = rest.IndexOf('/');
            if (slash <= 0) continue;
            var model = rest[..slash].ToString();
            if (IsValidModelName(model) && TryParseVersionPath(rest[(slash + 1)..], out _, out _)) names.Add(model);
        }
        return names.ToList();
    }

    /// <summary>
    /// Every version directory of <paramref name="model"/> (ascending), with whether its marker exists. The
    /// marker's ETag identifies one push: a version re-pushed under the same number gets a new one.
    /// </summary>
    public async Task<IReadOnlyList<RepositoryVersion>> ListVersionsAsync(string model, CancellationToken cancellation = default)
    {
        ValidateModelName(model);
        var found = new SortedDictionary<long, (bool HasModel, string? MarkerETag)>();
        var prefix = $"{Prefix}{model}/";
        await foreach (var blob in Store.ListAsync(prefix, cancellation))
        {
            if (!TryParseVersionPath(blob.Name.AsSpan(prefix.Length), out var version, out var file)) continue;
            found.TryGetValue(version, out var entry);
            if (file == ModelFileName) entry.HasModel = true;
            else if (file == ReadyMarkerName) entry.MarkerETag = blob.ETag;
            found[version] = entry;
        }
        return found.Select(p => new RepositoryVersion(model, p.Key, p.Value.HasModel && p.Value.MarkerETag is not null, p.Value.MarkerETag)).ToList();
    }

    /// <summary>Reads a version's model file whole (models are loaded from bytes).</summary>
    /// <exception cref="BlobNotFoundException">The version has no model file.</exception>
    public async Task<byte[]> ReadModelAsync(string model, long version, CancellationToken cancellation = default)
    {
        await using var stream = await Store.OpenReadAsync(ModelBlobName(model, version), cancellation);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellation);
        return buffer.ToArray();
    }

    /// <summary>The number the next pushed version should get: one more than the highest existing directory (1 for a new model).</summary>
    public async Task<long> NextVersionAsync(string model, CancellationToken cancellation = default)
    {
        var versions = await ListVersionsAsync(model, cancellation);
        return versions.Count == 0 ? 1 : versions[^1].Version + 1;
    }

    /// <summary>
    /// Pushes a model: writes the model file, then the marker (the Pusher's protocol). A crash between the
    /// two leaves a version servers ignore; pushing again to the same number completes it.
    /// </summary>
    public async Task PublishVersionAsync(string model, long version, Stream content, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        await Store.UploadAsync(ModelBlobName(model, version), content, cancellation: cancellation);
        var stamp = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        using var marker = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(stamp));
        await Store.UploadAsync(MarkerBlobName(model, version), marker, cancellation: cancellation);
    }

    /// <summary>Pushes a model from bytes; see <see cref="PublishVersionAsync(string, long, Stream, CancellationToken)"/>.</summary>
    public async Task PublishVersionAsync(string model, long version, byte[] content, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var stream = new MemoryStream(content, writable: false);
        await PublishVersionAsync(model, version, stream, cancellation);
    }

    /// <summary>Deletes a version: the marker first (servers stop considering it), then the model file.</summary>
    public async Task DeleteVersionAsync(string model, long version, CancellationToken cancellation = default)
    {
        await Store.DeleteAsync(MarkerBlobName(model, version), cancellation);
        await Store.DeleteAsync(ModelBlobName(model, version), cancellation);
    }

    /// <summary>Keeps the <paramref name="keep"/> highest complete versions and deletes older ones (the Pusher's retention); returns the deleted numbers.</summary>
    public async Task<IReadOnlyList<long>> PruneAsync(string model, int keep, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var ready = (await ListVersionsAsync(model, cancellation)).Where(v => v.Ready).Select(v => v.Version).OrderDescending().ToList();
        var deleted = ready.Skip(keep).ToList();
        foreach (var v in deleted) await DeleteVersionAsync(model, v, cancellation);
        return deleted;
    }

    /// <summary>True for names usable as a model directory (letters, digits, '-', '_', '.', not starting with '.' or '_').</summary>
    public static bool IsValidModelName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 200 || name[0] is '.' or '_') return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) return false;
        return true;
    }

    private static string ValidateModelName(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!IsValidModelName(model))
            throw new ArgumentException($"'{model}' is not a valid model name (letters, digits, '-', '_', '.'; not starting with '.' or '_').", nameof(model));
        return model;
    }

    private static long ValidateVersion(long version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        return version;
    }

    private static bool TryParseVersionPath(ReadOnlySpan<char> path, out long version, out string? file)
    {
        version = 0;
        file = null;
        var slash = path.IndexOf('/');
        if (slash <= 0) return false;
        var number = path[..slash];
        foreach (var c in number) if (!char.IsAsciiDigit(c)) return false;
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out version) || version < 1) return false;
        file = path[(slash + 1)..].ToString();
        return true;
    }
}

/// <summary>One version directory of a model in the repository.</summary>
/// <param name="Model">The model name.</param>
/// <param name="Version">The version number.</param>
/// <param name="Ready">True when both the model file and the completion marker exist.</param>
/// <param name="MarkerETag">The marker's ETag (identifies the push), null without a marker.</param>
public sealed record RepositoryVersion(string Model, long Version, bool Ready, string? MarkerETag);
