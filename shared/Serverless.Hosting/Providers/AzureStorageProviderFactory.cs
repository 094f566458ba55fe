using System.Globalization;
using DurableTask.AzureStorage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Hosting.Azurite;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.Providers;

/// <summary>
/// <c>storageProvider.type: AzureStorage</c>: DTFx's Azure Storage provider (control queues, work-item queue,
/// history and instances tables, partition leases), Durable Functions' default. host.json keys map onto
/// <see cref="AzureStorageOrchestrationServiceSettings"/> as listed in <see cref="Map"/>; for
/// <c>UseDevelopmentStorage=true</c> Azurite is started when it is not running (<see cref="AzuriteLauncher"/>).
/// </summary>
public sealed class AzureStorageProviderFactory : IDurableProviderFactory
{
    /// <summary>Durable Functions' default connection setting.</summary>
    public const string DefaultConnectionStringName = "AzureWebJobsStorage";

    /// <summary>The <c>storageProvider</c> keys this provider understands.</summary>
    public static readonly IReadOnlyList<string> SupportedKeys =
    [
        "type", "connectionStringName", "partitionCount", "controlQueueBatchSize", "controlQueueBufferThreshold",
        "controlQueueVisibilityTimeout", "workItemQueueVisibilityTimeout", "maxQueuePollingInterval",
        "trackingStoreNamePrefix", "useTablePartitionManagement", "useLegacyPartitionManagement",
    ];

    /// <inheritdoc/>
    public string ProviderType => DurableStorageProviderSettings.AzureStorageType;

    /// <inheritdoc/>
    public DurableProvider Create(DurableProviderContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Services.GetService<IOptions<AzureStorageProviderOptions>>()?.Value ?? new AzureStorageProviderOptions();
        var connectionName = context.Settings.StorageProvider.ConnectionStringName ?? DefaultConnectionStringName;
        var connection = context.ReadAppSetting(connectionName);
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new InvalidOperationException(
                $"{context.Settings.SourcePath}: storage provider 'AzureStorage' reads its connection string from app setting '{connectionName}' " +
                $"('extensions.durableTask.storageProvider.connectionStringName'), which is not set. Set it, e.g. {connectionName}=UseDevelopmentStorage=true for Azurite.");
        }
        var devPorts = options.DevelopmentStoragePorts;
        var isDevelopment = AzuriteLauncher.IsDevelopmentStorage(connection);
        if (isDevelopment && devPorts is not null)
        {
            if (devPorts.Count != 3) throw new InvalidOperationException("AzureStorageProviderOptions.DevelopmentStoragePorts needs three ports: blob, queue and table.");
            connection = AzuriteLauncher.ConnectionString(devPorts);
        }
        var settings = Map(context.Settings, connection, context.LoggerFactory);
        options.Configure?.Invoke(settings);
        var service = new AzureStorageOrchestrationService(settings);

        AzuriteLauncher? azurite = null;
        var logger = context.LoggerFactory.CreateLogger("Serverless.Hosting.Azurite");
        Func<CancellationToken, Task>? prepare = null;
        if (options.StartAzurite && isDevelopment)
        {
            prepare = async cancellation => azurite = await AzuriteLauncher.EnsureRunningAsync(
                Path.Combine(context.HomeDirectory, "azurite"), devPorts, logger: logger, cancellation: cancellation).ConfigureAwait(false);
        }
        // The worker dispatches through AzureStorageWorkerService (no back-off for messages already gone); the client is the provider's.
        return new DurableProvider(new AzureStorageWorkerService(service), service, settings.TaskHubName, prepare,
            async () => { if (azurite is not null) await azurite.DisposeAsync().ConfigureAwait(false); });
    }

    /// <summary>
    /// Maps host.json onto DTFx's settings. <c>hubName</c> -> TaskHubName; <c>maxConcurrentActivityFunctions</c> ->
    /// MaxConcurrentTaskActivityWorkItems; <c>maxConcurrentOrchestratorFunctions</c> -> MaxConcurrentTaskOrchestrationWorkItems;
    /// <c>extendedSessionsEnabled</c> / <c>extendedSessionIdleTimeoutInSeconds</c> -> ExtendedSessionsEnabled /
    /// ExtendedSessionIdleTimeout; <c>storageProvider.partitionCount</c>, <c>controlQueueBatchSize</c>,
    /// <c>controlQueueBufferThreshold</c>, <c>controlQueueVisibilityTimeout</c>, <c>workItemQueueVisibilityTimeout</c>,
    /// <c>maxQueuePollingInterval</c>, <c>trackingStoreNamePrefix</c>, <c>useTablePartitionManagement</c>,
    /// <c>useLegacyPartitionManagement</c> -> the properties of the same names. Unset keys keep DTFx's defaults.
    /// </summary>
    public static AzureStorageOrchestrationServiceSettings Map(DurableTaskHostSettings hostSettings, string connectionString, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(hostSettings);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var sp = hostSettings.StorageProvider.Section;
        sp.RejectUnknownKeys(SupportedKeys);
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = hostSettings.HubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            // DTFx's default worker id is the machine name: two processes on one machine would then share partition
            // leases as if they were one worker. The process id keeps them apart.
            // Without this the provider silently ignores a start whose id is Pending, Running or Suspended; the client
            // reports it (OrchestrationAlreadyExistsException, 409 in the HTTP API) as Durable Functions does.
            ThrowExceptionOnInvalidDedupeStatus = true,
            WorkerId = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}"),
        };
        if (loggerFactory is not null) settings.LoggerFactory = loggerFactory;
        if (hostSettings.MaxConcurrentActivityFunctions is { } a) settings.MaxConcurrentTaskActivityWorkItems = a;
        if (hostSettings.MaxConcurrentOrchestratorFunctions is { } o) settings.MaxConcurrentTaskOrchestrationWorkItems = o;
        if (hostSettings.ExtendedSessionsEnabled is { } x) settings.ExtendedSessionsEnabled = x;
        if (hostSettings.ExtendedSessionIdleTimeoutInSeconds is { } idle) settings.ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(idle);
        // Limits as DTFx enforces them: at most 16 partitions, control-queue batches of at most 32 messages.
        if (sp.Int("partitionCount", 1, 16) is { } pc) settings.PartitionCount = pc;
        if (sp.Int("controlQueueBatchSize", 1, 32) is { } batch) settings.ControlQueueBatchSize = batch;
        if (sp.Int("controlQueueBufferThreshold", 1, 1000) is { } buffer) settings.ControlQueueBufferThreshold = buffer;
        var day = TimeSpan.FromDays(1);
        if (sp.Duration("controlQueueVisibilityTimeout", TimeSpan.FromSeconds(1), day) is { } cv) settings.ControlQueueVisibilityTimeout = cv;
        if (sp.Duration("workItemQueueVisibilityTimeout", TimeSpan.FromSeconds(1), day) is { } wv) settings.WorkItemQueueVisibilityTimeout = wv;
        if (sp.Duration("maxQueuePollingInterval", TimeSpan.FromMilliseconds(10), day) is { } poll) settings.MaxQueuePollingInterval = poll;
        if (sp.String("trackingStoreNamePrefix") is { } prefix) settings.TrackingStoreNamePrefix = prefix;
        if (sp.Bool("useTablePartitionManagement") is { } table) settings.UseTablePartitionManagement = table;
        if (sp.Bool("useLegacyPartitionManagement") is { } legacy) settings.UseLegacyPartitionManagement = legacy;
        return settings;
    }
}
