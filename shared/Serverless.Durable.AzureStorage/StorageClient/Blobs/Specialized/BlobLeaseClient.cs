using System.Globalization;
using Azure;
using Azure.Core;
using Serverless.Storage.Blobs.Models;

namespace Serverless.Storage.Blobs.Specialized;

/// <summary>
/// Leases on a blob or container (Lease Blob / Lease Container: acquire, renew, release, break, change), named
/// after the SDK's type. A lease is the storage service's distributed lock: the durable engine's partition
/// manager holds one per control queue. Durations are 15-60 s or infinite (<see cref="InfiniteLeaseDuration"/>).
/// </summary>
public sealed class BlobLeaseClient
{
    private readonly StorageContext _context;
    private readonly bool _isContainer;

    /// <summary>An infinite lease duration (-1 s on the wire).</summary>
    public static readonly TimeSpan InfiniteLeaseDuration = TimeSpan.FromSeconds(-1);

    /// <summary>A lease client for a blob; a null <paramref name="leaseId"/> proposes a new random id.</summary>
    public BlobLeaseClient(BlobClient client, string? leaseId = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _context = client.Context;
        Uri = client.Uri;
        LeaseId = leaseId ?? Guid.NewGuid().ToString();
    }

    /// <summary>A lease client for a container.</summary>
    public BlobLeaseClient(BlobContainerClient client, string? leaseId = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _context = client.Context;
        Uri = client.Uri;
        _isContainer = true;
        LeaseId = leaseId ?? Guid.NewGuid().ToString();
    }

    /// <summary>The leased resource.</summary>
    public Uri Uri { get; }

    /// <summary>The lease id this client acquires, renews and releases (changed by <see cref="ChangeAsync"/>).</summary>
    public string LeaseId { get; private set; }

    /// <summary>Acquires the lease; 409 LeaseAlreadyPresent if another id holds it.</summary>
    public async Task<Response<BlobLease>> AcquireAsync(TimeSpan duration, RequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        var seconds = duration < TimeSpan.Zero ? -1 : (long)duration.TotalSeconds;
        using var message = Create("acquire", conditions);
        message.Request.Headers.SetValue("x-ms-lease-duration", seconds.ToString(CultureInfo.InvariantCulture));
        message.Request.Headers.SetValue("x-ms-proposed-lease-id", LeaseId);
        return ToLease(await _context.SendAsync(message, cancellation, 201));
    }

    /// <summary>Renews the lease (restarts its duration); works even after expiry if nobody else took it.</summary>
    public async Task<Response<BlobLease>> RenewAsync(RequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = Create("renew", conditions);
        message.Request.Headers.SetValue("x-ms-lease-id", LeaseId);
        return ToLease(await _context.SendAsync(message, cancellation, 200));
    }

    /// <summary>Releases the lease so another client can acquire it at once.</summary>
    public async Task<Response<ReleasedObjectInfo>> ReleaseAsync(RequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = Create("release", conditions);
        message.Request.Headers.SetValue("x-ms-lease-id", LeaseId);
        var response = await _context.SendAsync(message, cancellation, 200);
        return Response.FromValue(new ReleasedObjectInfo { ETag = BlobProtocol.ReadETag(response), LastModified = BlobProtocol.ReadDate(response, "Last-Modified") }, response);
    }

    /// <summary>Breaks the lease (no lease id needed); it ends after <paramref name="breakPeriod"/> (null: the remaining duration, immediately for infinite leases).</summary>
    public async Task<Response<BlobLease>> BreakAsync(TimeSpan? breakPeriod = null, RequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        using var message = Create("break", conditions);
        if (breakPeriod is { } p) message.Request.Headers.SetValue("x-ms-lease-break-period", ((long)p.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        return ToLease(await _context.SendAsync(message, cancellation, 202));
    }

    /// <summary>Changes the active lease's id to <paramref name="proposedId"/>; this client then uses the new id.</summary>
    public async Task<Response<BlobLease>> ChangeAsync(string proposedId, RequestConditions? conditions = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(proposedId);
        using var message = Create("change", conditions);
        message.Request.Headers.SetValue("x-ms-lease-id", LeaseId);
        message.Request.Headers.SetValue("x-ms-proposed-lease-id", proposedId);
        var result = ToLease(await _context.SendAsync(message, cancellation, 200));
        LeaseId = result.Value.LeaseId ?? proposedId;
        return result;
    }

    private HttpMessage Create(string action, RequestConditions? conditions)
    {
        var message = _isContainer
            ? _context.CreateMessage(RequestMethod.Put, Uri, ("comp", "lease"), ("restype", "container"))
            : _context.CreateMessage(RequestMethod.Put, Uri, ("comp", "lease"));
        message.Request.Headers.SetValue("x-ms-lease-action", action);
        if (conditions != null)
        {
            BlobProtocol.ApplyConditions(message.Request, new BlobRequestConditions
            {
                IfMatch = conditions.IfMatch,
                IfNoneMatch = conditions.IfNoneMatch,
                IfModifiedSince = conditions.IfModifiedSince,
                IfUnmodifiedSince = conditions.IfUnmodifiedSince,
            });
        }
        return message;
    }

    private static Response<BlobLease> ToLease(Response response)
    {
        var time = BlobProtocol.Header(response, "x-ms-lease-time");
        return Response.FromValue(new BlobLease
        {
            ETag = BlobProtocol.ReadETag(response),
            LastModified = BlobProtocol.ReadDate(response, "Last-Modified"),
            LeaseId = BlobProtocol.Header(response, "x-ms-lease-id"),
            LeaseTime = time == null ? null : int.Parse(time, CultureInfo.InvariantCulture),
        }, response);
    }
}

/// <summary>Extension methods as in the SDK's Azure.Storage.Blobs.Specialized.SpecializedBlobExtensions.</summary>
public static class SpecializedBlobExtensions
{
    /// <summary>A lease client for the blob.</summary>
    public static BlobLeaseClient GetBlobLeaseClient(this BlobClient client, string? leaseId = null) => new(client, leaseId);

    /// <summary>A lease client for the container.</summary>
    public static BlobLeaseClient GetBlobLeaseClient(this BlobContainerClient client, string? leaseId = null) => new(client, leaseId);
}
