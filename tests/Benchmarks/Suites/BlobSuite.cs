using System.Diagnostics;
using Azure.Storage;
using Azure.Storage.Blobs;
using Serverless.Storage;
using Serverless.Testing.Azurite;

namespace Benchmarks.Suites;

/// <summary>
/// Streams 1 GB (<c>--quick</c>: 64 MB) of pseudo-random data into an <see cref="IBlobStore"/> and back, hashing
/// both ways, and prints <c>blob_upload_mb_per_s</c> and <c>blob_download_mb_per_s</c>.
/// <c>--store local</c> (default) uses a temporary directory; <c>--store azure</c> starts its own on-disk Azurite.
/// Options: <c>--size-mb N</c>; Azure only: <c>--block-mb N</c> and <c>--concurrency N</c> (the SDK's
/// <see cref="StorageTransferOptions"/>; default: the store's defaults, <see cref="AzureBlobStoreOptions.DefaultTransferOptions"/>).
/// </summary>
public sealed class BlobSuite : IBenchmarkSuite
{
    /// <inheritdoc />
    public string Name => "blob";

    /// <inheritdoc />
    public async Task RunAsync(BenchmarkContext context)
    {
        var kind = context.Options.Get("store", "local").ToLowerInvariant();
        var sizeMb = long.Parse(context.Options.Get("size-mb", context.Options.Quick ? "64" : "1024"), System.Globalization.CultureInfo.InvariantCulture);
        var defaults = AzureBlobStoreOptions.DefaultTransferOptions;
        var blockMb = long.Parse(context.Options.Get("block-mb", (defaults.MaximumTransferSize!.Value / (1024 * 1024)).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            System.Globalization.CultureInfo.InvariantCulture);
        var concurrency = int.Parse(context.Options.Get("concurrency", defaults.MaximumConcurrency!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            System.Globalization.CultureInfo.InvariantCulture);
        var size = sizeMb * 1024 * 1024;

        AzuriteProcess? azurite = null;
        string? root = null;
        try
        {
            IBlobStore store;
            switch (kind)
            {
                case "local":
                    root = Path.Combine(Path.GetTempPath(), "blob-bench-" + Guid.NewGuid().ToString("N"));
                    store = new LocalDirectoryBlobStore(root);
                    break;
                case "azure":
                    azurite = await AzuriteProcess.StartAsync();
                    store = new AzureBlobStore(new BlobContainerClient(azurite.ConnectionString, "bench"), new AzureBlobStoreOptions
                    {
                        TransferOptions = new StorageTransferOptions
                        {
                            InitialTransferSize = blockMb * 1024 * 1024,
                            MaximumTransferSize = blockMb * 1024 * 1024,
                            MaximumConcurrency = concurrency,
                        },
                    });
                    break;
                default:
                    throw new ArgumentException($"--store must be 'local' or 'azure', not '{kind}'");
            }

            // Warm-up: JIT, connection, container creation.
            await store.UploadAsync("warmup", new PseudoRandomStream(1024 * 1024, 1));
            await using (var w = await store.OpenReadAsync("warmup")) await w.CopyToAsync(Stream.Null);

            var clock = Stopwatch.StartNew();
            byte[] expected;
            await using (var source = new HashingReadStream(new PseudoRandomStream(size, 7)))
            {
                await store.UploadAsync("bench.bin", source);
                expected = source.Hash();
            }
            var upload = clock.Elapsed.TotalSeconds;

            clock.Restart();
            byte[] actual;
            await using (var download = new HashingReadStream(await store.OpenReadAsync("bench.bin")))
            {
                var buffer = new byte[1024 * 1024];
                while (await download.ReadAsync(buffer) > 0)
                {
                }
                actual = download.Hash();
            }
            var downloadSeconds = clock.Elapsed.TotalSeconds;
            if (!expected.AsSpan().SequenceEqual(actual)) throw new InvalidOperationException("downloaded content differs from the upload");

            var extra = new Dictionary<string, object> { ["store"] = kind, ["size_mb"] = sizeMb };
            if (kind == "azure")
            {
                extra["block_mb"] = blockMb;
                extra["concurrency"] = concurrency;
            }
            context.Report("blob_upload_mb_per_s", sizeMb / upload, "MB/s", extra);
            context.Report("blob_download_mb_per_s", sizeMb / downloadSeconds, "MB/s", extra);
            context.Report("blob_peak_working_set_mb", BenchmarkContext.PeakWorkingSetMb(), "MB", extra);
            await store.DeleteAsync("bench.bin");
        }
        finally
        {
            if (azurite != null) await azurite.DisposeAsync();
            if (root != null && Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}
