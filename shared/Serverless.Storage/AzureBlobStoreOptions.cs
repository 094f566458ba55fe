using Azure.Storage;
using Azure.Storage.Blobs;

namespace Serverless.Storage;

/// <summary>Options of <see cref="AzureBlobStore"/>.</summary>
public sealed class AzureBlobStoreOptions
{
    /// <summary>The store's default chunking (see <see cref="TransferOptions"/>): one Put Blob up to 8 MiB, then 8 MiB
    /// blocks, 4 in flight. The SDK's own default single-shot limit is 256 MiB, which for a stream of unknown length means
    /// buffering up to 256 MiB before the first byte is sent; 8 MiB keeps an upload's memory at about
    /// (concurrency + 1) × block size. Measured on Azurite (README): larger blocks or more concurrency gain nothing
    /// there, because Azurite's single node process is the bottleneck.</summary>
    public static readonly StorageTransferOptions DefaultTransferOptions = new()
    {
        InitialTransferSize = 8L * 1024 * 1024,
        MaximumTransferSize = 8L * 1024 * 1024,
        MaximumConcurrency = 4,
    };

    /// <summary>Blobs per List Blobs call (maxresults); null = the service default (5000). Small values exist for tests.</summary>
    public int? ListPageSize { get; init; }

    /// <summary>Chunking of uploads (Azure.Storage's <see cref="StorageTransferOptions"/>): one Put Blob up to
    /// <c>InitialTransferSize</c>, else Put Block of <c>MaximumTransferSize</c> bytes, <c>MaximumConcurrency</c> at once,
    /// then one Put Block List. Unset fields take the value of <see cref="DefaultTransferOptions"/>, not the SDK's.</summary>
    public StorageTransferOptions TransferOptions { get; init; }

    /// <summary>Client options (retries, transport, diagnostics) for the constructors that build the container client
    /// themselves; ignored when a <see cref="BlobContainerClient"/> is passed in. Null = the SDK's defaults.</summary>
    public BlobClientOptions? ClientOptions { get; init; }
}
