using System.Security.Cryptography;
using System.Text.Json;
using Serverless.Metadata;
using Serverless.Storage;

namespace Serverless.Pipelines;

/// <summary>
/// Moves an artifact from its staging prefix to its final prefix and marks it complete. Order: remove any
/// earlier marker at the final prefix, copy every staged file (hashing it on the way), delete final files that
/// are not in the new set, write the marker last, delete the staging files. A crash at any step leaves a final
/// prefix without a marker, which readers treat as absent; re-publishing repairs it.
/// </summary>
public sealed class ArtifactPublisher
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly IBlobStore store;
    private readonly TimeProvider time;

    /// <summary>Creates a publisher over a blob store.</summary>
    public ArtifactPublisher(IBlobStore store, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Publishes the files under <paramref name="stagingPrefix"/> as a complete artifact at <paramref name="finalPrefix"/>.</summary>
    /// <returns>The manifest written as the marker, with the artifact's fingerprint.</returns>
    public async Task<ArtifactManifest> PublishAsync(
        string stagingPrefix,
        string finalPrefix,
        string type,
        IReadOnlyDictionary<string, MetadataValue> properties,
        string executionId,
        CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stagingPrefix);
        ArgumentException.ThrowIfNullOrEmpty(finalPrefix);
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(properties);
        ArgumentException.ThrowIfNullOrEmpty(executionId);
        var marker = $"{finalPrefix}/{ArtifactLayout.MarkerName}";
        await store.DeleteAsync(marker, cancellation).ConfigureAwait(false);
        if (store is LocalDirectoryBlobStore local)
        {
            return await PublishLocalAsync(local, stagingPrefix, finalPrefix, type, properties, executionId, cancellation).ConfigureAwait(false);
        }

        var staged = await ListAsync(stagingPrefix, cancellation).ConfigureAwait(false);
        var files = new List<ArtifactFile>(staged.Count);
        foreach (var blob in staged)
        {
            var relative = blob.Name[(stagingPrefix.Length + 1)..];
            var source = await store.OpenReadAsync(blob.Name, cancellation).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                using var hashing = new HashingReadStream(source);
                await store.UploadAsync($"{finalPrefix}/{relative}", hashing, null, cancellation).ConfigureAwait(false);
                files.Add(new ArtifactFile(relative, hashing.Length, hashing.HashHex()));
            }
        }

        var keep = files.Select(f => $"{finalPrefix}/{f.Path}").ToHashSet(StringComparer.Ordinal);
        foreach (var leftover in await ListAsync(finalPrefix, cancellation).ConfigureAwait(false))
        {
            if (!keep.Contains(leftover.Name))
            {
                await store.DeleteAsync(leftover.Name, cancellation).ConfigureAwait(false);
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var sortedProperties = new SortedDictionary<string, MetadataValue>(properties.ToDictionary(), StringComparer.Ordinal);
        var manifest = new ArtifactManifest(type, Fingerprints.OfFiles(files, sortedProperties), files, sortedProperties, executionId, time.GetUtcNow());
        using (var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest, Json)))
        {
            await store.UploadAsync(marker, content, null, cancellation).ConfigureAwait(false);
        }

        await DeletePrefixAsync(stagingPrefix, cancellation).ConfigureAwait(false);
        return manifest;
    }

    // The local directory's fast path: the staged files were written (and flushed to disk) through the store, so
    // publishing renames them into place instead of copying (a copy would write and flush every byte again), then
    // writes the marker with a rename. Same order and crash semantics as the generic path: no marker until every
    // file is in place. The marker itself is not flushed: after an OS crash it is either there whole (its rename is
    // journaled after the files' renames) or absent/empty, which readers treat as "not complete" (the run re-executes
    // the node), like SQLite's synchronous=NORMAL that the metadata store uses. The store derives ETags from the
    // files themselves, so files placed by rename are ordinary blobs to it.
    private async Task<ArtifactManifest> PublishLocalAsync(
        LocalDirectoryBlobStore local,
        string stagingPrefix,
        string finalPrefix,
        string type,
        IReadOnlyDictionary<string, MetadataValue> properties,
        string executionId,
        CancellationToken cancellation)
    {
        var stagingDir = LocalPath(local, stagingPrefix);
        var finalDir = LocalPath(local, finalPrefix);
        var files = new List<ArtifactFile>();
        var moves = new List<(string From, string To)>();
        if (Directory.Exists(stagingDir))
        {
            foreach (var file in Directory.EnumerateFiles(stagingDir, "*", LocalEnumeration))
            {
                var relative = Path.GetRelativePath(stagingDir, file).Replace(Path.DirectorySeparatorChar, '/');
                if (IsStoreInternal(relative))
                {
                    continue;
                }

                var (length, sha) = await HashLocalFileAsync(file, cancellation).ConfigureAwait(false);
                files.Add(new ArtifactFile(relative, length, sha));
                moves.Add((file, Path.Combine(finalDir, relative.Replace('/', Path.DirectorySeparatorChar))));
            }
        }

        foreach (var (from, to) in moves)
        {
            cancellation.ThrowIfCancellationRequested();
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Move(from, to, overwrite: true);
        }

        var keep = moves.Select(m => m.To).ToHashSet(StringComparer.Ordinal);
        if (Directory.Exists(finalDir))
        {
            foreach (var leftover in Directory.EnumerateFiles(finalDir, "*", LocalEnumeration))
            {
                var relative = Path.GetRelativePath(finalDir, leftover).Replace(Path.DirectorySeparatorChar, '/');
                if (!keep.Contains(leftover) && !IsStoreInternal(relative))
                {
                    await local.DeleteAsync($"{finalPrefix}/{relative}", cancellation).ConfigureAwait(false);
                }
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var sortedProperties = new SortedDictionary<string, MetadataValue>(properties.ToDictionary(), StringComparer.Ordinal);
        var manifest = new ArtifactManifest(type, Fingerprints.OfFiles(files, sortedProperties), files, sortedProperties, executionId, time.GetUtcNow());
        Directory.CreateDirectory(finalDir);
        var markerPath = Path.Combine(finalDir, ArtifactLayout.MarkerName);
        var temp = Path.Combine(finalDir, $".blobstore-tmp-{Guid.NewGuid():N}");
        try
        {
            await File.WriteAllBytesAsync(temp, JsonSerializer.SerializeToUtf8Bytes(manifest, Json), cancellation).ConfigureAwait(false);
            File.Move(temp, markerPath, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }

        DeleteStagingFolders(stagingDir);
        return manifest;
    }

    private static readonly EnumerationOptions LocalEnumeration = new() { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };

    // Names the local store keeps for itself (temporary files of uploads in flight, its lock and sidecars).
    private static bool IsStoreInternal(string relative) =>
        relative.Split('/').Any(s => s.StartsWith(".blobstore", StringComparison.Ordinal));

    private static string LocalPath(LocalDirectoryBlobStore local, string prefix)
    {
        BlobNames.ValidatePrefix(prefix + "/");
        var full = Path.GetFullPath(Path.Combine(local.RootDirectory, prefix.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(local.RootDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Prefix '{prefix}' resolves outside the store root.", nameof(prefix));
        }

        return full;
    }

    // Removing directories is slow on some file systems (milliseconds per rmdir here), so the now empty staging
    // folders of this attempt are removed off the critical path, best effort. Only the attempt's own folder and its
    // execution folder go: the shared parents ({pipeline}/{node}/{output}) may be in use by a concurrent node.
    private static void DeleteStagingFolders(string attemptDirectory)
    {
        _ = Task.Run(() =>
        {
            try
            {
                Directory.Delete(attemptDirectory, recursive: true);
                var execution = Path.GetDirectoryName(attemptDirectory);
                if (execution is not null && !Directory.EnumerateFileSystemEntries(execution).Any())
                {
                    Directory.Delete(execution);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A concurrent attempt of the same execution still writes there, or it is gone already.
            }
        });
    }

    private static async Task<(long Length, string Sha256)> HashLocalFileAsync(string path, CancellationToken cancellation)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            var hash = await SHA256.HashDataAsync(stream, cancellation).ConfigureAwait(false);
            return (stream.Length, Convert.ToHexStringLower(hash));
        }
    }

    /// <summary>Reads an artifact's marker; null when the artifact is not (or no longer) complete.</summary>
    public async Task<ArtifactManifest?> ReadManifestAsync(string uri, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(uri);
        try
        {
            var stream = await store.OpenReadAsync($"{uri}/{ArtifactLayout.MarkerName}", cancellation).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                return await JsonSerializer.DeserializeAsync<ArtifactManifest>(stream, Json, cancellation).ConfigureAwait(false);
            }
        }
        catch (BlobNotFoundException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when the artifact is complete and intact: its marker exists with the expected fingerprint and every
    /// listed file exists with its recorded length. The cache calls this before reusing an output.
    /// </summary>
    public async Task<bool> IsIntactAsync(string uri, string fingerprint, CancellationToken cancellation = default)
    {
        var manifest = await ReadManifestAsync(uri, cancellation).ConfigureAwait(false);
        if (manifest is null || !string.Equals(manifest.Fingerprint, fingerprint, StringComparison.Ordinal))
        {
            return false;
        }

        if (store is LocalDirectoryBlobStore local)
        {
            // Lengths straight from the file system: the store's property lookup also reads metadata sidecars.
            var root = LocalPath(local, uri);
            return manifest.Files.All(f =>
            {
                var info = new FileInfo(Path.Combine(root, f.Path.Replace('/', Path.DirectorySeparatorChar)));
                return info.Exists && info.Length == f.Length;
            });
        }

        foreach (var file in manifest.Files)
        {
            var properties = await store.GetPropertiesAsync($"{uri}/{file.Path}", cancellation).ConfigureAwait(false);
            if (properties is null || properties.Length != file.Length)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Deletes every blob under a prefix (a folder: the prefix is matched up to a '/').</summary>
    public async Task DeletePrefixAsync(string prefix, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        foreach (var blob in await ListAsync(prefix, cancellation).ConfigureAwait(false))
        {
            await store.DeleteAsync(blob.Name, cancellation).ConfigureAwait(false);
        }
    }

    private async Task<List<BlobItemProperties>> ListAsync(string prefix, CancellationToken cancellation)
    {
        var list = new List<BlobItemProperties>();
        await foreach (var blob in store.ListAsync(prefix + "/", cancellation).ConfigureAwait(false))
        {
            list.Add(blob);
        }

        return list;
    }

    // Hashes what passes through, so a copy costs one read of the staged file.
    private sealed class HashingReadStream(Stream inner) : Stream
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => length; set => throw new NotSupportedException(); }

        public string HashHex() => Convert.ToHexStringLower(hash.GetHashAndReset());

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            hash.AppendData(buffer[..read]);
            length += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            hash.AppendData(buffer.Span[..read]);
            length += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
