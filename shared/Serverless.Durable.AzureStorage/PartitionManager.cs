using System.Diagnostics;
using Azure;
using Microsoft.Extensions.Logging;
using Serverless.Storage.Blobs;
using Serverless.Storage.Blobs.Models;

namespace Serverless.Durable.AzureStorage;

/// <summary>
/// Owns this worker's share of the control-queue partitions. Leases are small blobs (<c>partitions/NN</c>) whose
/// <c>owner</c> metadata names the worker; an owner renews by rewriting its blob (a new ETag) every renew
/// interval. Expiry is judged by observation, not by clocks: a lease whose ETag has not changed for the lease
/// timeout, as seen by this process's own monotonic clock, is expired and may be taken with an If-Match on the
/// observed ETag, so two takers cannot both win and no clock synchronisation between machines is needed.
/// Balancing: live workers announce themselves in <c>members/{id}</c> blobs the same way; each worker aims at
/// ceil(partitions / live workers) leases, takes free or expired ones when below, and releases extras when above.
/// </summary>
internal sealed class PartitionManager : IAsyncDisposable
{
    private const string OwnerKey = "owner";
    private readonly BlobContainerClient _leases;
    private readonly int _count;
    private readonly AzureStorageBackendOptions _options;
    private readonly ILogger _logger;
    private readonly Action<int> _onLost;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, (ETag ETag, long RenewedAt)> _owned = [];
    private readonly Dictionary<string, (ETag ETag, long FirstSeen)> _observed = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int[] _ownedSnapshot = [];

    public PartitionManager(BlobContainerClient leases, int count, AzureStorageBackendOptions options, ILogger logger, Action<int> onLost)
    {
        _leases = leases;
        _count = count;
        _options = options;
        _logger = logger;
        _onLost = onLost;
    }

    /// <summary>Partitions this worker owns now.</summary>
    public int[] Owned => Volatile.Read(ref _ownedSnapshot);

    public bool IsOwned(int partition)
    {
        lock (_lock) return _owned.ContainsKey(partition);
    }

    private string Me => _options.WorkerId;

    private static string LeaseName(int p) => $"partitions/{p:D2}";
    private string MemberName => $"members/{Uri.EscapeDataString(Me)}";

    /// <summary>Runs the first balancing cycle (so a lone worker owns every partition at once), then keeps cycling.</summary>
    public async Task StartAsync(CancellationToken cancellation)
    {
        try { await CycleAsync(cancellation).ConfigureAwait(false); }
        catch (Exception ex) when (ex is not OperationCanceledException) { _logger.LogWarning(ex, "First partition lease cycle failed; retrying in the background."); }
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    private async Task LoopAsync()
    {
        var failures = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.LeaseRenewInterval, _stop.Token).ConfigureAwait(false);
                await CycleAsync(_stop.Token).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                _logger.LogError(ex, "Partition lease cycle failed (attempt {Attempt}): {Message}", failures, ex.Message);
                DropStale();
            }
        }
    }

    /// <summary>Stops using partitions whose lease could not be renewed for the lease timeout: another worker may hold them now.</summary>
    private void DropStale()
    {
        var now = Stopwatch.GetTimestamp();
        List<int> lost = [];
        lock (_lock)
        {
            foreach (var (p, l) in _owned)
                if (Stopwatch.GetElapsedTime(l.RenewedAt, now) >= _options.LeaseTimeout) lost.Add(p);
            foreach (var p in lost) _owned.Remove(p);
            Publish();
        }
        foreach (var p in lost)
        {
            _logger.LogWarning("Partition {Partition} dropped: its lease could not be renewed within {Timeout}.", p, _options.LeaseTimeout);
            _onLost(p);
        }
    }

    private void Publish() => Volatile.Write(ref _ownedSnapshot, _owned.Keys.Order().ToArray());

    private bool Expired(string name, ETag etag, long now)
    {
        if (!_observed.TryGetValue(name, out var seen) || seen.ETag != etag)
        {
            _observed[name] = (etag, now);
            return false;
        }
        return Stopwatch.GetElapsedTime(seen.FirstSeen, now) >= _options.LeaseTimeout;
    }

    private async Task CycleAsync(CancellationToken cancellation)
    {
        // 1. Announce this worker.
        await _leases.GetBlobClient(MemberName).UploadAsync(BinaryData.FromString(Stopwatch.GetTimestamp().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            overwrite: true, cancellation).ConfigureAwait(false);

        // 2. Renew what we own.
        int[] mine;
        lock (_lock) mine = _owned.Keys.ToArray();
        await Task.WhenAll(mine.Select(p => RenewAsync(p, cancellation))).ConfigureAwait(false);

        // 3. Look at all leases and members.
        var now = Stopwatch.GetTimestamp();
        var leases = new Dictionary<int, BlobItem>();
        var members = new List<BlobItem>();
        await foreach (var item in _leases.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, null, cancellation).ConfigureAwait(false))
        {
            if (item.Name.StartsWith("members/", StringComparison.Ordinal)) members.Add(item);
            else if (item.Name.StartsWith("partitions/", StringComparison.Ordinal) &&
                     int.TryParse(item.Name.AsSpan("partitions/".Length), System.Globalization.CultureInfo.InvariantCulture, out var p) && p < _count)
                leases[p] = item;
        }
        var alive = 0;
        foreach (var m in members)
        {
            if (m.Name == MemberName) { alive++; continue; }
            if (Expired(m.Name, m.Properties.ETag ?? default, now))
            {
                // A dead worker's announcement: remove it so it stops counting (If-Match: only if still unchanged).
                try { await _leases.GetBlobClient(m.Name).DeleteIfExistsAsync(conditions: new BlobRequestConditions { IfMatch = m.Properties.ETag }, cancellation: cancellation).ConfigureAwait(false); }
                catch (RequestFailedException) { }
            }
            else alive++;
        }
        var target = (_count + Math.Max(alive, 1) - 1) / Math.Max(alive, 1);

        int owned;
        lock (_lock) owned = _owned.Count;
        if (owned > target)
        {
            int[] extra;
            lock (_lock) extra = _owned.Keys.OrderDescending().Take(owned - target).ToArray();
            foreach (var p in extra) await ReleaseAsync(p, cancellation).ConfigureAwait(false);
            return;
        }
        for (var p = 0; p < _count && owned < target; p++)
        {
            lock (_lock) if (_owned.ContainsKey(p)) continue;
            if (!leases.TryGetValue(p, out var lease))
            {
                if (await TryTakeAsync(p, null, cancellation).ConfigureAwait(false)) owned++;
                continue;
            }
            var etag = lease.Properties.ETag ?? default;
            var owner = lease.Metadata.TryGetValue(OwnerKey, out var o) ? o : "";
            var free = owner.Length == 0 || owner == Uri.EscapeDataString(Me) || Expired(lease.Name, etag, now);
            if (free && await TryTakeAsync(p, etag, cancellation).ConfigureAwait(false)) owned++;
        }
    }

    private BlobUploadOptions LeaseWrite(string owner, ETag? ifMatch) => new()
    {
        Metadata = new Dictionary<string, string> { [OwnerKey] = owner },
        Conditions = ifMatch is { } e ? new BlobRequestConditions { IfMatch = e } : new BlobRequestConditions { IfNoneMatch = ETag.All },
    };

    private static BinaryData Stamp() => BinaryData.FromString(Guid.NewGuid().ToString("N"));

    private async Task<bool> TryTakeAsync(int p, ETag? etag, CancellationToken cancellation)
    {
        try
        {
            var r = await _leases.GetBlobClient(LeaseName(p)).UploadAsync(Stamp(), LeaseWrite(Uri.EscapeDataString(Me), etag), cancellation).ConfigureAwait(false);
            lock (_lock)
            {
                _owned[p] = (r.Value.ETag, Stopwatch.GetTimestamp());
                Publish();
            }
            _logger.LogInformation("Worker {Worker} acquired partition {Partition}.", Me, p);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false; // someone else was faster
        }
    }

    private async Task RenewAsync(int p, CancellationToken cancellation)
    {
        ETag etag;
        lock (_lock)
        {
            if (!_owned.TryGetValue(p, out var l)) return;
            etag = l.ETag;
        }
        try
        {
            var r = await _leases.GetBlobClient(LeaseName(p)).UploadAsync(Stamp(), LeaseWrite(Uri.EscapeDataString(Me), etag), cancellation).ConfigureAwait(false);
            lock (_lock) if (_owned.ContainsKey(p)) _owned[p] = (r.Value.ETag, Stopwatch.GetTimestamp());
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            lock (_lock)
            {
                _owned.Remove(p);
                Publish();
            }
            _logger.LogWarning("Worker {Worker} lost partition {Partition}: another worker took its lease.", Me, p);
            _onLost(p);
        }
        catch (Exception) when (!cancellation.IsCancellationRequested)
        {
            DropStale();
            throw;
        }
    }

    private async Task ReleaseAsync(int p, CancellationToken cancellation)
    {
        ETag etag;
        lock (_lock)
        {
            if (!_owned.Remove(p, out var l)) return;
            etag = l.ETag;
            Publish();
        }
        _onLost(p);
        try
        {
            await _leases.GetBlobClient(LeaseName(p)).UploadAsync(Stamp(), LeaseWrite("", etag), cancellation).ConfigureAwait(false);
            _logger.LogInformation("Worker {Worker} released partition {Partition} for balancing.", Me, p);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            // Already taken over.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop != null) await _loop.ConfigureAwait(false);
        // Graceful shutdown: hand the partitions back at once instead of making others wait for expiry.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            int[] mine;
            lock (_lock) mine = _owned.Keys.ToArray();
            await Task.WhenAll(mine.Select(p => ReleaseAsync(p, cts.Token))).ConfigureAwait(false);
            await _leases.GetBlobClient(MemberName).DeleteIfExistsAsync(cancellation: cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException or IOException or System.Net.Http.HttpRequestException)
        {
            _logger.LogDebug(ex, "Could not release partitions on shutdown; they expire after {Timeout}.", _options.LeaseTimeout);
        }
        _stop.Dispose();
    }
}
