using Serverless.Durable.Http.Configuration;
using Serverless.Durable.InMemory;
using Serverless.Durable.Sqlite;

namespace Serverless.Durable.Http.Tests;

public sealed class HostJsonTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durable-hostjson-tests", Guid.NewGuid().ToString("N"));

    public HostJsonTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string json)
    {
        var path = Path.Combine(_folder, "host.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string GoodFile = """
        {
          // comments and trailing commas are allowed, as in the Functions host
          "version": "2.0",
          "logging": { "logLevel": { "default": "Information" } },
          "extensions": {
            "durableTask": {
              "HubName": "PipelineHub",
              "storageProvider": { "type": "SQLite", "connectionStringName": "DurableStorage", "databasePath": "data/hub.db", "partitionCount": 4 },
              "maxConcurrentActivityFunctions": 8,
              "maxConcurrentOrchestratorFunctions": 4,
              "extendedSessionsEnabled": true,
              "activityPools": { "Trainer": "gpu", "Tuner": "gpu" },
              "workerPools": [ "default", "cpu", "default" ],
            }
          }
        }
        """;

    [Fact]
    public void Load_GoodFile_ReadsEverySetting()
    {
        var path = Write(GoodFile);

        var s = HostJsonReader.Load(path);

        Assert.Equal("PipelineHub", s.HubName);
        Assert.Equal(DurableStorageProviderType.Sqlite, s.StorageProvider.Type);
        Assert.Equal("DurableStorage", s.StorageProvider.ConnectionStringName);
        Assert.Equal("data/hub.db", s.StorageProvider.DatabasePath);
        Assert.Equal(8, s.MaxConcurrentActivityFunctions);
        Assert.Equal(4, s.MaxConcurrentOrchestratorFunctions);
        Assert.Equal("gpu", s.ActivityPools["trainer"]);
        Assert.Equal("gpu", s.ActivityPools["Tuner"]);
        Assert.Equal(new[] { "default", "cpu" }, s.WorkerPools);
        Assert.Equal(_folder, s.BaseDirectory);
        Assert.Equal(path, s.SourcePath);
    }

    [Fact]
    public void ApplyTo_GoodFile_SetsWorkerOptionsAndKeepsUnsetDefaults()
    {
        var s = HostJsonReader.Load(Write(GoodFile));
        var options = new DurableTaskWorkerOptions();

        s.ApplyTo(options);

        Assert.Equal(8, options.MaxConcurrentActivityFunctions);
        Assert.Equal(4, options.MaxConcurrentOrchestratorFunctions);
        Assert.Equal(new[] { "default", "cpu" }, options.Pools);
        Assert.Equal("gpu", options.ActivityPools["Trainer"]);

        var defaults = new DurableTaskWorkerOptions();
        var before = defaults.MaxConcurrentActivityFunctions;
        HostJsonReader.Parse("""{"extensions":{"durableTask":{"hubName":"Hub1"}}}""", "inline.json").ApplyTo(defaults);
        Assert.Equal(before, defaults.MaxConcurrentActivityFunctions);
        Assert.Equal(new[] { WorkerPools.Default }, defaults.Pools);
    }

    [Fact]
    public void Load_MissingFileOrSection_ReturnsDefaults()
    {
        var missing = HostJsonReader.Load(Path.Combine(_folder, "absent.json"));
        var noSection = HostJsonReader.Parse("""{"version":"2.0"}""", "host.json");

        foreach (var s in new[] { missing, noSection })
        {
            Assert.Equal(DurableTaskHostSettings.DefaultHubName, s.HubName);
            Assert.Equal(DurableStorageProviderType.Sqlite, s.StorageProvider.Type);
            Assert.Null(s.MaxConcurrentActivityFunctions);
            Assert.Null(s.WorkerPools);
            Assert.Empty(s.ActivityPools);
        }
    }

    [Fact]
    public void Load_RepositoryHostJson_Parses()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);

        var s = HostJsonReader.Load(Path.Combine(dir.FullName, "host.json"));

        Assert.Equal(DurableStorageProviderType.Sqlite, s.StorageProvider.Type);
        Assert.NotNull(s.MaxConcurrentActivityFunctions);
    }

    [Theory]
    [InlineData("""{"maxConcurrentActivityFunctions": -1}""", "extensions.durableTask.maxConcurrentActivityFunctions", "at least 1")]
    [InlineData("""{"maxConcurrentActivityFunctions": 0}""", "extensions.durableTask.maxConcurrentActivityFunctions", "at least 1")]
    [InlineData("""{"maxConcurrentActivityFunctions": "8"}""", "extensions.durableTask.maxConcurrentActivityFunctions", "whole number")]
    [InlineData("""{"maxConcurrentOrchestratorFunctions": 2.5}""", "extensions.durableTask.maxConcurrentOrchestratorFunctions", "whole number")]
    [InlineData("""{"maxConcurrentOrchestratorFunctions": -3}""", "extensions.durableTask.maxConcurrentOrchestratorFunctions", "at least 1")]
    [InlineData("""{"hubName": 42}""", "extensions.durableTask.hubName", "must be a string")]
    [InlineData("""{"hubName": "my-hub!"}""", "extensions.durableTask.hubName", "letters or digits")]
    [InlineData("""{"hubName": "ab"}""", "extensions.durableTask.hubName", "3 to 45")]
    [InlineData("""{"storageProvider": "sqlite"}""", "extensions.durableTask.storageProvider", "must be an object")]
    [InlineData("""{"storageProvider": {"type": "cosmos"}}""", "extensions.durableTask.storageProvider.type", "unknown provider 'cosmos'")]
    [InlineData("""{"storageProvider": {"type": 1}}""", "extensions.durableTask.storageProvider.type", "must be a string")]
    [InlineData("""{"storageProvider": {"connectionStringName": ""}}""", "extensions.durableTask.storageProvider.connectionStringName", "must not be empty")]
    [InlineData("""{"storageProvider": {"databasePath": true}}""", "extensions.durableTask.storageProvider.databasePath", "must be a string")]
    [InlineData("""{"activityPools": ["gpu"]}""", "extensions.durableTask.activityPools", "must be an object")]
    [InlineData("""{"activityPools": {"Trainer": 1}}""", "extensions.durableTask.activityPools.Trainer", "must be a string")]
    [InlineData("""{"activityPools": {"Trainer": " "}}""", "extensions.durableTask.activityPools.Trainer", "non-empty pool name")]
    [InlineData("""{"workerPools": "gpu"}""", "extensions.durableTask.workerPools", "must be an array")]
    [InlineData("""{"workerPools": ["gpu", ""]}""", "extensions.durableTask.workerPools[1]", "non-empty pool name")]
    public void Load_BadValue_ThrowsNamingSettingAndFile(string durableTask, string setting, string problem)
    {
        var path = Write($$$"""{"version":"2.0","extensions":{"durableTask":{{{durableTask}}}}}""");

        var ex = Assert.Throws<HostJsonException>(() => HostJsonReader.Load(path));

        Assert.Equal(setting, ex.Setting);
        Assert.Equal(path, ex.FilePath);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{setting}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"extensions": []}""", "extensions")]
    [InlineData("""{"extensions": {"durableTask": 5}}""", "extensions.durableTask")]
    [InlineData("""[1, 2]""", "(root)")]
    [InlineData("""{"extensions": {""", "(file)")]
    public void Load_BadStructure_ThrowsNamingSettingAndFile(string json, string setting)
    {
        var path = Write(json);

        var ex = Assert.Throws<HostJsonException>(() => HostJsonReader.Load(path));

        Assert.Equal(setting, ex.Setting);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateBackend_SqliteWithDatabasePath_CreatesFileBesideHostJson()
    {
        var s = HostJsonReader.Load(Write(GoodFile));

        await using var backend = DurableBackendFactory.CreateBackend(s, _ => "Data Source=/ignored.db");
        await backend.InitializeAsync();

        var sqlite = Assert.IsType<SqliteOrchestrationBackend>(backend);
        Assert.Equal(Path.Combine(_folder, "data", "hub.db"), sqlite.Path);
        Assert.True(File.Exists(Path.Combine(_folder, "data", "hub.db")));
    }

    [Theory]
    [InlineData("Data Source=conn/from-setting.db", "conn/from-setting.db")]
    [InlineData("plain/path.db", "plain/path.db")]
    public void ResolveSqlitePath_ConnectionSetting_UsesItsDataSource(string value, string expected)
    {
        var s = HostJsonReader.Parse("""{"extensions":{"durableTask":{"storageProvider":{"connectionStringName":"DurableStorage"}}}}""", "host.json", _folder);

        var path = DurableBackendFactory.ResolveSqlitePath(s, name => name == "DurableStorage" ? value : null);

        Assert.Equal(Path.GetFullPath(expected, _folder), path);
    }

    [Fact]
    public void ResolveSqlitePath_NoPathAndUnsetSetting_UsesHubNameFileBesideHostJson()
    {
        var s = HostJsonReader.Parse("""{"extensions":{"durableTask":{"hubName":"MyHub","storageProvider":{"connectionStringName":"Unset"}}}}""", "host.json", _folder);

        var path = DurableBackendFactory.ResolveSqlitePath(s, _ => null);

        Assert.Equal(Path.Combine(_folder, "durable", "MyHub.db"), path);
    }

    [Fact]
    public async Task CreateBackend_Memory_ReturnsInMemoryBackend()
    {
        var s = HostJsonReader.Parse("""{"extensions":{"durableTask":{"storageProvider":{"type":"memory"}}}}""", "host.json", _folder);

        await using var backend = DurableBackendFactory.CreateBackend(s);

        Assert.IsType<InMemoryOrchestrationBackend>(backend);
    }

    [Fact]
    public void CreateBackend_AzureStorageWithoutConnectionSetting_ErrorNamesSettingAndFile()
    {
        var s = HostJsonReader.Parse("""{"extensions":{"durableTask":{"storageProvider":{"type":"AzureStorage"}}}}""", "my/host.json", _folder);

        var ex = Assert.Throws<InvalidOperationException>(() => DurableBackendFactory.CreateBackend(s, _ => null));

        Assert.Contains("AzureWebJobsStorage", ex.Message, StringComparison.Ordinal);
        Assert.Contains("my/host.json", ex.Message, StringComparison.Ordinal);
    }
}
