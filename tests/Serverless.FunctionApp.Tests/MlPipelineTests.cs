using Serverless.Pipelines.Hosting.Cli;
using Serverless.Pipelines.Hosting;
using Serverless.Storage;
using Serverless.Testing.Azurite;

namespace Serverless.FunctionApp.Tests;

/// <summary>The ML components wired into the CLI and the function app, and the host.json artifact store choice.</summary>
public sealed class MlPipelineTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("cli-ml-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(home, true); } catch (IOException) { }
    }

    private static async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string CopyDataSample()
    {
        var folder = Path.Combine(home, "p");
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        File.Copy(Path.Combine(Repo.Samples, "data", "penguins.csv"), Path.Combine(folder, "data", "penguins.csv"));
        var file = Path.Combine(folder, "penguins_data.yaml");
        File.Copy(Path.Combine(Repo.Samples, "penguins_data.yaml"), file);
        return file;
    }

    [Fact]
    public async Task Run_PenguinsDataSampleTwice_SecondRunReportsEveryNodeCached()
    {
        var file = CopyDataSample();

        var first = await CliAsync("run", file, "--home", home, "--run-id", "cold");
        var second = await CliAsync("run", file, "--home", home, "--run-id", "warm");

        Assert.True(first.Code == 0, first.Out + first.Err);
        Assert.Contains("4 nodes: 4 executed, 0 cached", first.Out, StringComparison.Ordinal);
        Assert.Contains("penguins_data/example_validator/anomalies/cold-", first.Out, StringComparison.Ordinal);
        Assert.True(second.Code == 0, second.Out + second.Err);
        Assert.Contains("4 nodes: 0 executed, 4 cached", second.Out, StringComparison.Ordinal);
        var status = await CliAsync("status", "warm", "--home", home);
        foreach (var node in new[] { "example_gen", "statistics_gen", "schema_gen", "example_validator" })
        {
            Assert.Matches($@"(?m)^\s*{node}\s+CACHED\b", second.Out);
            Assert.Matches($@"(?m)^\s*{node}\s+CACHED\b", status.Out);
        }
    }

    [Fact]
    public async Task Run_HostJsonArtifactStoreAzureBlob_ArtifactsLandInAzurite()
    {
        var setting = "PIPELINES_TEST_STORAGE_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(setting, azurite.ConnectionString);
        try
        {
            var file = Repo.CopySample(Path.Combine(home, "p"));
            var hostJson = Path.Combine(home, "host.json");
            await File.WriteAllTextAsync(hostJson, $$"""
                { "version": "2.0", "extensions": { "pipelines": {
                    "artifactStore": { "type": "azureBlob", "connectionStringName": "{{setting}}", "container": "artifacts-test" } } } }
                """);

            var first = await CliAsync("run", file, "--home", home, "--host-json", hostJson, "--run-id", "az1");
            var second = await CliAsync("run", file, "--home", home, "--host-json", hostJson, "--run-id", "az2");

            Assert.True(first.Code == 0, first.Out + first.Err);
            Assert.Contains("3 nodes: 0 executed, 3 cached", second.Out, StringComparison.Ordinal);
            var store = new AzureBlobStore(azurite.ConnectionString, "artifacts-test");
            var names = new List<string>();
            await foreach (var blob in store.ListAsync("penguins/"))
            {
                names.Add(blob.Name);
            }

            foreach (var output in new[] { "import/examples", "count/statistics", "count_raw/statistics" })
            {
                Assert.Contains(names, n => n.StartsWith($"penguins/{output}/az1-", StringComparison.Ordinal) && n.EndsWith("/_COMPLETE.json", StringComparison.Ordinal));
            }

            Assert.Contains(names, n => n.StartsWith("penguins/count/statistics/az1-", StringComparison.Ordinal) && n.EndsWith("/row_count.json", StringComparison.Ordinal));
            Assert.False(Directory.Exists(Path.Combine(home, "blobs", "penguins")), "artifacts were written to the local directory");
        }
        finally
        {
            Environment.SetEnvironmentVariable(setting, null);
        }
    }

    [Fact]
    public void Load_UnknownKeyOrWrongType_HostJsonErrorNamingFileAndSetting()
    {
        var unknown = Path.Combine(home, "unknown.json");
        File.WriteAllText(unknown, """{ "extensions": { "pipelines": { "blobTrigger": { "pollIntervall": "2s" } } } }""");
        var wrongType = Path.Combine(home, "wrong.json");
        File.WriteAllText(wrongType, """{ "extensions": { "pipelines": { "limits": { "maxNodes": "many" } } } }""");

        var first = Assert.Throws<Serverless.Hosting.Configuration.HostJsonException>(() => PipelineHostOptions.Load(unknown, home));
        var second = Assert.Throws<Serverless.Hosting.Configuration.HostJsonException>(() => PipelineHostOptions.Load(wrongType, home));

        Assert.Equal("extensions.pipelines.blobTrigger.pollIntervall", first.Setting);
        Assert.Contains(unknown, first.Message, StringComparison.Ordinal);
        Assert.Equal("extensions.pipelines.limits.maxNodes", second.Setting);
        Assert.Contains(wrongType, second.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BadTimerSchedule_HostJsonErrorNamingSettingAndField()
    {
        var bad = Path.Combine(home, "timer.json");
        File.WriteAllText(bad, """{ "extensions": { "pipelines": { "timers": [ { "pipeline": "p", "schedule": "0 1,,2 * * * *" } ] } } }""");

        var error = Assert.Throws<Serverless.Hosting.Configuration.HostJsonException>(() => PipelineHostOptions.Load(bad, home));

        Assert.EndsWith(".schedule", error.Setting, StringComparison.Ordinal);
        Assert.Contains("timers", error.Setting, StringComparison.Ordinal);
        Assert.Contains(bad, error.Message, StringComparison.Ordinal);
        Assert.Contains("minute field '1,,2'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ArtifactStoreSettings_ParsedAndValidated()
    {
        var good = Path.Combine(home, "good.json");
        File.WriteAllText(good, """{ "extensions": { "pipelines": { "artifactStore": { "type": "AzureBlob", "container": "arts" } } } }""");
        var bad = Path.Combine(home, "bad.json");
        File.WriteAllText(bad, """{ "extensions": { "pipelines": { "artifactStore": { "type": "s3" } } } }""");

        var options = PipelineHostOptions.Load(good, home);
        var error = Assert.Throws<Serverless.Hosting.Configuration.HostJsonException>(() => PipelineHostOptions.Load(bad, home));
        var missing = Assert.Throws<InvalidOperationException>(() => options.CreateBlobStore(_ => null));

        Assert.Equal(ArtifactStoreOptions.AzureBlob, options.ArtifactStore.Type);
        Assert.Equal("arts", options.ArtifactStore.Container);
        Assert.Equal("AzureWebJobsStorage", options.ArtifactStore.ConnectionStringName);
        Assert.Contains("extensions.pipelines.artifactStore.type", error.Message, StringComparison.Ordinal);
        Assert.Contains("'s3'", error.Message, StringComparison.Ordinal);
        Assert.Contains("AzureWebJobsStorage", missing.Message, StringComparison.Ordinal);
        Assert.IsType<LocalDirectoryBlobStore>(PipelineHostOptions.Defaults(home).CreateBlobStore(_ => null));
        Assert.IsType<AzureBlobStore>(options.CreateBlobStore(_ => "UseDevelopmentStorage=true"));
        // Keyless, as infra/main.bicep configures the function app (shared keys off): account name + managed identity.
        var keyless = Assert.IsType<AzureBlobStore>(options.CreateBlobStore(name => name switch
        {
            "AzureWebJobsStorage__accountName" => "acct",
            "AzureWebJobsStorage__credential" => "managedidentity",
            _ => null,
        }));
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/arts"), keyless.Container.Uri);
        Assert.Contains("AzureWebJobsStorage__blobServiceUri", missing.Message, StringComparison.Ordinal);
    }
}
