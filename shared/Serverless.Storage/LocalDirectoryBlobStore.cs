using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Serverless.Storage;

/// <summary>
/// The embedded <see cref="IBlobStore"/>: one file per blob under a root directory, named by the blob name.
/// <para>Atomic publish: content is written to a temporary file in the target's own directory
/// (<c>.blobstore-tmp-*</c>), flushed to disk, then renamed over the target, so a reader sees the old or the new
/// file, never a partial one (an open reader keeps reading the version it opened).</para>
/// <para>ETag: <c>{length:x}-{mtime ticks:x}</c> of the published file, derived from the file itself, so files
/// written by other tools have ETags too. Under the store's lock a new version that would repeat the previous
/// ETag gets its mtime bumped by one tick, so the ETag changes on every write through the store even on
/// coarse-timestamp file systems.</para>
/// <para>Conditional writes and deletes are serialised by a lock file (<c>.blobstore/lock</c>, an exclusive
/// flock across processes) plus an in-process semaphore; the check and the rename happen under it.
/// Metadata lives in a sidecar <c>.blobstore/meta/{name}.json</c> that records the ETag it belongs to.</para>
/// <para>Names whose segments start with <c>.blobstore</c> are reserved. A name cannot be both a blob and a
/// "directory" of other blobs (a/b and a/b/c), unlike in Azure.</para>
/// </summary>
public sealed class LocalDirectoryBlobStore : IBlobStore
{
    private const string Reserved = ".blobstore";
    private readonly string _root;
    private readonly string _metaRoot;
    private readonly string _lockPath;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Creates (if needed) and uses <paramref name="rootDirectory"/>.</summary>
    public LocalDirectoryBlobStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        _root = Path.GetFullPath(rootDirectory);
        _metaRoot = Path.Combine(_root, Reserved, "meta");
        _lockPath = Path.Combine(_root, Reserved, "lock");
        Directory.CreateDirectory(_metaRoot);
    }

    /// <summary>The root directory.</summary>
    public string RootDirectory => _root;

    /// <inheritdoc />
    public string Description => $"local directory {_root}";

    /// <inheritdoc />
    public async Task<BlobItemProperties> UploadAsync(string name, Stream content, BlobUploadOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = PathOf(name);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $"{Reserved}-tmp-{Guid.NewGuid():N}");
        try
        {
            var fileOptions = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0, Options = FileOptions.Asynchronous,
            };
            await using (var file = new FileStream(temp, fileOptions))
            {
                await content.CopyToAsync(file, 1024 * 1024, cancellation);
                file.Flush(flushToDisk: true);
            }

            await using var held = await LockAsync(cancellation);
            var current = File.Exists(path) ? new FileInfo(path) : null;
            if (options?.IfNotExists == true && current != null)
                throw new BlobConditionFailedException(name, "If-None-Match: * (the blob exists)");
            if (options?.IfMatch is { } ifMatch && (current == null || ETagOf(current) != ifMatch))
                throw new BlobConditionFailedException(name, $"If-Match: {ifMatch} (current: {(current == null ? "none" : ETagOf(current))})");

            var fresh = new FileInfo(temp);
            if (current != null && ETagOf(fresh) == ETagOf(current))
            {
                File.SetLastWriteTimeUtc(temp, current.LastWriteTimeUtc.AddTicks(1));
                fresh.Refresh();
            }
            var etag = ETagOf(fresh);
            var metadata = options?.Metadata ?? new Dictionary<string, string>();
            WriteSidecar(name, etag, metadata);
            File.Move(temp, path, overwrite: true);
            return new BlobItemProperties(name, fresh.Length, etag, fresh.LastWriteTimeUtc, new Dictionary<string, string>(metadata));
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellation = default)
    {
        var path = PathOf(name);
        try
        {
            Stream stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0, Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
            return Task.FromResult(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException && !File.Exists(path))
        {
            throw new BlobNotFoundException(name, Description);
        }
    }

    /// <inheritdoc />
    public async Task<BlobItemProperties?> GetPropertiesAsync(string name, CancellationToken cancellation = default)
    {
        var path = PathOf(name);
        var props = Read(name, path);
        if (props is { } p && p.Consistent) return p.Properties;
        if (props == null) return null;
        // The sidecar belongs to another version (a write is publishing right now): read again under the lock.
        await using var held = await LockAsync(cancellation);
        return Read(name, path)?.Properties;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<BlobItemProperties> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        BlobNames.ValidatePrefix(prefix);
        if (prefix.Split('/').Any(s => s.StartsWith(Reserved, StringComparison.Ordinal))) yield break;
        var slash = prefix.LastIndexOf('/');
        var start = slash < 0 ? _root : Path.Combine(_root, prefix[..slash].Replace('/', Path.DirectorySeparatorChar));
        if (!Directory.Exists(start)) yield break;
        var names = new List<string>();
        foreach (var file in Directory.EnumerateFiles(start, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            var relative = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (relative.Split('/').Any(s => s.StartsWith(Reserved, StringComparison.Ordinal))) continue;
            if (relative.StartsWith(prefix, StringComparison.Ordinal)) names.Add(relative);
        }
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            cancellation.ThrowIfCancellationRequested();
            BlobItemProperties? props;
            try
            {
                props = await GetPropertiesAsync(name, cancellation);
            }
            catch (ArgumentException)
            {
                // A file another tool wrote under a name the store cannot address (a backslash, a control character, over
                // 1,024 characters): listed as it is, so a caller (the blob trigger) can report it and go on; opening it by
                // this name fails with the rule it breaks.
                var info = new FileInfo(Path.Combine(_root, name.Replace('/', Path.DirectorySeparatorChar)));
                props = info.Exists ? new BlobItemProperties(name, info.Length, ETagOf(info), info.LastWriteTimeUtc, new Dictionary<string, string>()) : null;
            }

            if (props != null) yield return props;
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellation = default)
    {
        var path = PathOf(name);
        await using var held = await LockAsync(cancellation);
        var existed = File.Exists(path);
        if (existed) File.Delete(path);
        var sidecar = SidecarOf(name);
        if (File.Exists(sidecar)) File.Delete(sidecar);
        return existed;
    }

    private (BlobItemProperties Properties, bool Consistent)? Read(string name, string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return null;
        var etag = ETagOf(info);
        var (sidecarETag, metadata) = ReadSidecar(name);
        var consistent = sidecarETag == null || sidecarETag == etag;
        var props = new BlobItemProperties(name, info.Length, etag, info.LastWriteTimeUtc,
            sidecarETag == etag ? metadata : new Dictionary<string, string>());
        return (props, consistent);
    }

    private static string ETagOf(FileInfo info) => $"\"{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}\"";

    private string PathOf(string name)
    {
        BlobNames.Validate(name);
        if (name.Split('/').Any(s => s.StartsWith(Reserved, StringComparison.Ordinal)))
            throw new ArgumentException($"Invalid blob name '{name}': segments starting with '{Reserved}' are reserved by the local store.", nameof(name));
        var full = Path.GetFullPath(Path.Combine(_root, name.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"Invalid blob name '{name}': it resolves outside the store root.", nameof(name));
        return full;
    }

    private string SidecarOf(string name) => Path.Combine(_metaRoot, name.Replace('/', Path.DirectorySeparatorChar) + ".json");

    private void WriteSidecar(string name, string etag, IReadOnlyDictionary<string, string> metadata)
    {
        var sidecar = SidecarOf(name);
        if (metadata.Count == 0)
        {
            if (File.Exists(sidecar)) File.Delete(sidecar);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(sidecar)!);
        var temp = sidecar + $".tmp-{Guid.NewGuid():N}";
        File.WriteAllText(temp, JsonSerializer.Serialize(new Sidecar(etag, new Dictionary<string, string>(metadata))));
        File.Move(temp, sidecar, overwrite: true);
    }

    private (string? ETag, IReadOnlyDictionary<string, string> Metadata) ReadSidecar(string name)
    {
        try
        {
            var s = JsonSerializer.Deserialize<Sidecar>(File.ReadAllText(SidecarOf(name)));
            return (s?.ETag, s?.Metadata ?? new Dictionary<string, string>());
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (null, new Dictionary<string, string>());
        }
    }

    private async Task<IAsyncDisposable> LockAsync(CancellationToken cancellation)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    var file = new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    return new Held(file, _gate);
                }
                catch (IOException) when (attempt < 2000)
                {
                    await Task.Delay(5, cancellation); // another process holds the lock
                }
            }
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    private sealed record Sidecar(string ETag, Dictionary<string, string> Metadata);

    private sealed class Held(FileStream file, SemaphoreSlim gate) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await file.DisposeAsync();
            gate.Release();
        }
    }
}
