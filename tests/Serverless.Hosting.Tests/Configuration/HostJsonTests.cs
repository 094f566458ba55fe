using DurableTask.AzureStorage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Hosting.Configuration;
using Serverless.Hosting.Providers;

namespace Serverless.Hosting.Tests.Configuration;

/// <summary>host.json in Durable Functions' schema: one reader, every key mapped onto DTFx's Azure Storage settings,
/// unknown or invalid keys rejected with the key and the file named.</summary>
public sealed class HostJsonTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hostjson-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string json)
    {
        var path = Path.Combine(_folder, "host.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string DurableTask(string body) => $$"""{ "version": "2.0", "extensions": { "durableTask": { {{body}} } } }""";

    [Fact]
    public void Load_EveryKey_MapsOntoAzureStorageSettings()
    {
        var path = Write("""
            {
              "version": "2.0",
              // comments and trailing commas are allowed, as in the Functions host
              "logging": { "logLevel": { "default": "Warning" } },
              "extensions": {
                "http": { "routePrefix": "api" },
                "durableTask": {
                  "HubName": "PipelineHub",
                  "storageProvider": {
                    "type": "azureStorage",
                    "connectionStringName": "MyStorage",
                    "partitionCount": 2,
                    "controlQueueBatchSize": 16,
                    "controlQueueBufferThreshold": 64,
                    "controlQueueVisibilityTimeout": "00:02:00",
                    "workItemQueueVisibilityTimeout": "00:03:00",
                    "maxQueuePollingInterval": "00:00:00.250",
                    "trackingStoreNamePrefix": "Track",
                    "useTablePartitionManagement": true,
                    "useLegacyPartitionManagement": false,
                  },
                  "maxConcurrentActivityFunctions": 12,
                  "maxConcurrentOrchestratorFunctions": 7,
                  "extendedSessionsEnabled": true,
                  "extendedSessionIdleTimeoutInSeconds": 45,
                  "tracing": { "traceInputsAndOutputs": false },
                }
              }
            }
            """);
        var settings = HostJsonReader.Load(path);
        Assert.Equal("PipelineHub", settings.HubName);
        Assert.Equal("azureStorage", settings.StorageProvider.Type);
        Assert.Equal("MyStorage", settings.StorageProvider.ConnectionStringName);
        Assert.Equal(path, settings.SourcePath);
        Assert.Equal(_folder, settings.BaseDirectory);

        var s = AzureStorageProviderFactory.Map(settings, "UseDevelopmentStorage=true");
        Assert.Equal("PipelineHub", s.TaskHubName);
        Assert.Equal(12, s.MaxConcurrentTaskActivityWorkItems);
        Assert.Equal(7, s.MaxConcurrentTaskOrchestrationWorkItems);
        Assert.True(s.ExtendedSessionsEnabled);
        Assert.Equal(TimeSpan.FromSeconds(45), s.ExtendedSessionIdleTimeout);
        Assert.Equal(2, s.PartitionCount);
        Assert.Equal(16, s.ControlQueueBatchSize);
        Assert.Equal(64, s.ControlQueueBufferThreshold);
        Assert.Equal(TimeSpan.FromMinutes(2), s.ControlQueueVisibilityTimeout);
        Assert.Equal(TimeSpan.FromMinutes(3), s.WorkItemQueueVisibilityTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), s.MaxQueuePollingInterval);
        Assert.Equal("Track", s.TrackingStoreNamePrefix);
        Assert.True(s.UseTablePartitionManagement);
        Assert.False(s.UseLegacyPartitionManagement);
        Assert.True(s.ThrowExceptionOnInvalidDedupeStatus);
        Assert.Contains($"-{Environment.ProcessId}-", s.WorkerId, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFileOrSection_GivesDurableFunctionsDefaults()
    {
        var missing = HostJsonReader.Load(Path.Combine(_folder, "nope.json"));
        var empty = HostJsonReader.Load(Write("""{ "version": "2.0" }"""));
        foreach (var settings in new[] { missing, empty })
        {
            Assert.Equal(DurableTaskHostSettings.DefaultHubName, settings.HubName);
            Assert.Equal(DurableStorageProviderSettings.AzureStorageType, settings.StorageProvider.Type);
            Assert.Null(settings.StorageProvider.ConnectionStringName);
            Assert.Null(settings.MaxConcurrentActivityFunctions);
            Assert.Null(settings.ExtendedSessionsEnabled);
        }
        var defaults = new AzureStorageOrchestrationServiceSettings();
        var mapped = AzureStorageProviderFactory.Map(empty, "UseDevelopmentStorage=true");
        Assert.Equal(defaults.PartitionCount, mapped.PartitionCount);
        Assert.Equal(defaults.MaxQueuePollingInterval, mapped.MaxQueuePollingInterval);
        Assert.Equal(defaults.ExtendedSessionsEnabled, mapped.ExtendedSessionsEnabled);
    }

    [Fact]
    public void Load_RepositoryHostJson_Parses()
    {
        var root = Serverless.Testing.Azurite.AzuriteProcess.FindRepositoryRoot();
        var settings = HostJsonReader.Load(Path.Combine(root, "host.json"));
        Assert.Equal("SampleHub", settings.HubName);
        Assert.Equal("sqlite", settings.StorageProvider.Type);
    }

    [Theory]
    [InlineData("\"maxConcurrentActivityFunctions\": -1", "extensions.durableTask.maxConcurrentActivityFunctions", "at least 1")]
    [InlineData("\"maxConcurrentOrchestratorFunctions\": \"ten\"", "extensions.durableTask.maxConcurrentOrchestratorFunctions", "whole number")]
    [InlineData("\"maxConcurrentActivityFunctions\": 2.5", "extensions.durableTask.maxConcurrentActivityFunctions", "whole number")]
    [InlineData("\"extendedSessionsEnabled\": \"yes\"", "extensions.durableTask.extendedSessionsEnabled", "true or false")]
    [InlineData("\"extendedSessionIdleTimeoutInSeconds\": 0", "extensions.durableTask.extendedSessionIdleTimeoutInSeconds", "at least 1")]
    [InlineData("\"hubName\": \"1bad\"", "extensions.durableTask.hubName", "letters or digits")]
    [InlineData("\"hubName\": \"has-dash\"", "extensions.durableTask.hubName", "letters or digits")]
    [InlineData("\"hubName\": 5", "extensions.durableTask.hubName", "must be a string")]
    [InlineData("\"storageProvider\": []", "extensions.durableTask.storageProvider", "must be an object")]
    [InlineData("\"storageProvider\": { \"type\": \"\" }", "extensions.durableTask.storageProvider.type", "must not be empty")]
    [InlineData("\"workerPools\": [\"gpu\"]", "extensions.durableTask.workerPools", "not supported")]
    [InlineData("\"maxConcurrentActivityFunction\": 4", "extensions.durableTask.maxConcurrentActivityFunction", "not supported")]
    public void Load_BadOrUnknownKey_ThrowsNamingKeyAndFile(string body, string setting, string problem)
    {
        var path = Write(DurableTask(body));
        var ex = Assert.Throws<HostJsonException>(() => HostJsonReader.Load(path));
        Assert.Equal(setting, ex.Setting);
        Assert.Equal(path, ex.FilePath);
        Assert.StartsWith($"{path}: setting '{setting}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"partitionCount\": 17", "partitionCount", "at most 16")]
    [InlineData("\"controlQueueBatchSize\": 0", "controlQueueBatchSize", "at least 1")]
    [InlineData("\"maxQueuePollingInterval\": \"soon\"", "maxQueuePollingInterval", "time span")]
    [InlineData("\"maxQueuePollingInterval\": \"00:00:00\"", "maxQueuePollingInterval", "at least")]
    [InlineData("\"useTablePartitionManagement\": 1", "useTablePartitionManagement", "true or false")]
    [InlineData("\"databasePath\": \"hub.db\"", "databasePath", "not supported")]
    public void MapAzureStorage_BadOrUnknownProviderKey_ThrowsNamingKeyAndFile(string body, string key, string problem)
    {
        var path = Write(DurableTask($"\"storageProvider\": {{ \"type\": \"AzureStorage\", {body} }}"));
        var settings = HostJsonReader.Load(path);
        var ex = Assert.Throws<HostJsonException>(() => AzureStorageProviderFactory.Map(settings, "UseDevelopmentStorage=true"));
        Assert.Equal($"extensions.durableTask.storageProvider.{key}", ex.Setting);
        Assert.Equal(path, ex.FilePath);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"extensions\": ", "(file)")]
    [InlineData("[1, 2]", "(root)")]
    [InlineData("{ \"extensions\": { \"durableTask\": 3 } }", "extensions.durableTask")]
    public void Load_BadStructure_ThrowsNamingSettingAndFile(string json, string setting)
    {
        var path = Write(json);
        var ex = Assert.Throws<HostJsonException>(() => HostJsonReader.Load(path));
        Assert.Equal(setting, ex.Setting);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    private static DurableProvider CreateProvider(IServiceCollection services, DurableTaskHostSettings settings, Func<string, string?> appSettings)
    {
        services.AddLogging();
        services.AddDurableTaskHosting(o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = appSettings;
            o.HomeDirectory = Path.GetTempPath();
        });
        return services.BuildServiceProvider().GetRequiredService<DurableProvider>();
    }

    [Fact]
    public void CreateProvider_UnknownType_ThrowsNamingTypeRegisteredProvidersAndFile()
    {
        var settings = HostJsonReader.Parse(DurableTask("\"storageProvider\": { \"type\": \"netherite\" }"), "/app/host.json");
        var ex = Assert.Throws<HostJsonException>(() => CreateProvider(new ServiceCollection(), settings, _ => null));
        Assert.Equal("extensions.durableTask.storageProvider.type", ex.Setting);
        Assert.Contains("'netherite'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AzureStorage", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("/app/host.json:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateProvider_AzureStorageWithoutConnectionSetting_ErrorNamesSettingAndFile()
    {
        var settings = HostJsonReader.Parse(DurableTask("\"storageProvider\": { \"connectionStringName\": \"NotSet\" }"), "/app/host.json");
        var ex = Assert.Throws<InvalidOperationException>(() => CreateProvider(new ServiceCollection(), settings, _ => null));
        Assert.Contains("'NotSet'", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("/app/host.json:", ex.Message, StringComparison.Ordinal);
        var defaultName = Assert.Throws<InvalidOperationException>(() => CreateProvider(new ServiceCollection(), DurableTaskHostSettings.Default(), _ => null));
        Assert.Contains("'AzureWebJobsStorage'", defaultName.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateProvider_AzureStorage_UsesConnectionFromNamedSettingAndHubName()
    {
        var settings = HostJsonReader.Parse(DurableTask("\"hubName\": \"SeamHub\", \"storageProvider\": { \"connectionStringName\": \"Named\" }"), "host.json");
        var asked = new List<string>();
        var provider = CreateProvider(new ServiceCollection(), settings, name => { asked.Add(name); return "UseDevelopmentStorage=true"; });
        Assert.Equal(["Named"], asked);
        Assert.Equal("SeamHub", provider.TaskHubName);
        var worker = Assert.IsType<AzureStorageWorkerService>(provider.Service);
        Assert.IsType<AzureStorageOrchestrationService>(worker.Inner);
        Assert.Same(worker.Inner, provider.Client);
    }

    /// <summary>A provider plugged in through the seam, as the SQLite provider will be.</summary>
    private sealed class CustomFactory : IDurableProviderFactory
    {
        public string ProviderType => "Custom";

        public List<DurableProviderContext> Contexts { get; } = [];

        public DurableProvider Create(DurableProviderContext context)
        {
            Contexts.Add(context);
            context.Settings.StorageProvider.Section.RejectUnknownKeys(["type", "connectionStringName", "flavour"]);
            var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
            {
                TaskHubName = context.Settings.HubName,
                StorageAccountClientProvider = new StorageAccountClientProvider("UseDevelopmentStorage=true"),
            });
            return new DurableProvider(service, service, context.Settings.HubName);
        }
    }

    [Fact]
    public void ProviderSeam_OneRegistration_SelectsFactoryByTypeCaseInsensitively()
    {
        var factory = new CustomFactory();
        var services = new ServiceCollection();
        services.AddSingleton<IDurableProviderFactory>(factory);
        var settings = HostJsonReader.Parse(DurableTask("\"hubName\": \"Plugged\", \"storageProvider\": { \"type\": \"custom\", \"flavour\": \"x\" }"), "seam.json");
        var provider = CreateProvider(services, settings, _ => null);
        Assert.Equal("Plugged", provider.TaskHubName);
        var context = Assert.Single(factory.Contexts);
        Assert.Equal("x", context.Settings.StorageProvider.Section.String("flavour"));
        // The provider validates its own keys the same way as the reader does.
        var bad = HostJsonReader.Parse(DurableTask("\"storageProvider\": { \"type\": \"custom\", \"colour\": 1 }"), "seam.json");
        var services2 = new ServiceCollection();
        services2.AddSingleton<IDurableProviderFactory>(new CustomFactory());
        var ex = Assert.Throws<HostJsonException>(() => CreateProvider(services2, bad, _ => null));
        Assert.Equal("extensions.durableTask.storageProvider.colour", ex.Setting);
    }
}
