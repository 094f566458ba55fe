using System.Text;
using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.Pipelines;

/// <summary>A published input artifact as an executor sees it: its reference, its files, and a way to read them.</summary>
public sealed class InputArtifact
{
    private readonly IBlobStore store;

    /// <summary>Creates the view; <paramref name="files"/> come from the artifact's manifest.</summary>
    public InputArtifact(string channel, ArtifactRef artifact, IReadOnlyList<ArtifactFile> files, IBlobStore store)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(store);
        Channel = channel;
        Artifact = artifact;
        Files = files;
        this.store = store;
    }

    /// <summary>The input channel it arrives on.</summary>
    public string Channel { get; }

    /// <summary>The artifact.</summary>
    public ArtifactRef Artifact { get; }

    /// <summary>Its files, sorted by path.</summary>
    public IReadOnlyList<ArtifactFile> Files { get; }

    /// <summary>Opens one of its files.</summary>
    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellation = default) =>
        store.OpenReadAsync($"{Artifact.Uri}/{ArtifactLayout.CheckRelativePath(path)}", cancellation);
}

/// <summary>
/// An output an executor writes. Files go to the staging prefix; the node runner publishes them to
/// <see cref="Uri"/> with <see cref="Properties"/> after the executor returns.
/// </summary>
public sealed class OutputArtifact
{
    private readonly IBlobStore store;

    /// <summary>Creates a writer for one output.</summary>
    /// <param name="channel">The output channel name.</param>
    /// <param name="type">The artifact type.</param>
    /// <param name="uri">The final prefix it will be published to.</param>
    /// <param name="stagingPrefix">Where files are written until published.</param>
    /// <param name="store">The blob store.</param>
    public OutputArtifact(string channel, string type, string uri, string stagingPrefix, IBlobStore store)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(uri);
        ArgumentException.ThrowIfNullOrEmpty(stagingPrefix);
        ArgumentNullException.ThrowIfNull(store);
        Channel = channel;
        Type = type;
        Uri = uri;
        StagingPrefix = stagingPrefix;
        this.store = store;
    }

    /// <summary>The output channel name.</summary>
    public string Channel { get; }

    /// <summary>The artifact type.</summary>
    public string Type { get; }

    /// <summary>The final prefix, valid once published.</summary>
    public string Uri { get; }

    /// <summary>Where files are written until published.</summary>
    public string StagingPrefix { get; }

    /// <summary>Properties to record with the artifact (e.g. <c>row_count</c>); part of its fingerprint.</summary>
    public IDictionary<string, MetadataValue> Properties { get; } = new Dictionary<string, MetadataValue>(StringComparer.Ordinal);

    /// <summary>Writes a file of the artifact from a stream.</summary>
    public async Task WriteAsync(string path, Stream content, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        await store.UploadAsync($"{StagingPrefix}/{ArtifactLayout.CheckRelativePath(path)}", content, null, cancellation).ConfigureAwait(false);
    }

    /// <summary>Writes a file of the artifact from bytes.</summary>
    public async Task WriteBytesAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        await WriteAsync(path, stream, cancellation).ConfigureAwait(false);
    }

    /// <summary>Writes a UTF-8 text file of the artifact.</summary>
    public Task WriteTextAsync(string path, string text, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return WriteBytesAsync(path, Encoding.UTF8.GetBytes(text), cancellation);
    }

    /// <summary>Copies a local file into the artifact.</summary>
    public async Task WriteFileAsync(string path, string localFile, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localFile);
        var stream = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            await WriteAsync(path, stream, cancellation).ConfigureAwait(false);
        }
    }
}
