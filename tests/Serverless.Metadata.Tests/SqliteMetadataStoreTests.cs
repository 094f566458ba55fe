using Microsoft.Data.Sqlite;
using Serverless.Metadata;

namespace Serverless.Metadata.Tests;

public sealed class SqliteMetadataStoreTests : IDisposable
{
    private readonly TempStore temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Open_NewPath_CreatesDatabaseThatReopensWithItsRecords()
    {
        var nested = Path.Combine(temp.Folder, "a", "b", "md.db");
        long id;
        using (var store = SqliteMetadataStore.Open(nested))
        {
            await store.PutArtifactTypeAsync("Examples");
            id = (await store.PutArtifactAsync(new Artifact { Type = "Examples", Uri = "p/n/o/1", State = ArtifactState.Live })).Id;
        }

        using var reopened = SqliteMetadataStore.Open(nested);
        var artifact = await reopened.GetArtifactAsync(id);
        Assert.NotNull(artifact);
        Assert.Equal("p/n/o/1", artifact.Uri);
        Assert.Equal(ArtifactState.Live, artifact.State);
    }

    [Fact]
    public void Open_FileThatIsNotADatabase_ThrowsAndLeavesFileUntouched()
    {
        var content = "this is a CSV file, not a database\n1,2,3\n"u8.ToArray().Concat(new byte[4096]).ToArray();
        File.WriteAllBytes(temp.FilePath, content);
        var written = File.GetLastWriteTimeUtc(temp.FilePath);

        var error = Assert.Throws<MetadataStoreException>(() => SqliteMetadataStore.Open(temp.FilePath));

        Assert.Equal(MetadataErrorKind.NotAMetadataDatabase, error.Kind);
        Assert.Contains(temp.FilePath, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a metadata database", error.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllBytes(temp.FilePath));
        Assert.Equal(written, File.GetLastWriteTimeUtc(temp.FilePath));
        Assert.False(File.Exists(temp.FilePath + "-wal"));
    }

    [Fact]
    public void Open_SqliteDatabaseOfSomethingElse_ThrowsAndLeavesFileUntouched()
    {
        using (var connection = new SqliteConnection($"Data Source={temp.FilePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)";
            command.ExecuteNonQuery();
        }

        var before = File.ReadAllBytes(temp.FilePath);

        var error = Assert.Throws<MetadataStoreException>(() => SqliteMetadataStore.Open(temp.FilePath));

        Assert.Equal(MetadataErrorKind.NotAMetadataDatabase, error.Kind);
        Assert.Contains("no mlmd_env table", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(temp.FilePath));
    }

    [Fact]
    public void Open_NewerSchemaVersion_ThrowsAndLeavesFileUntouched()
    {
        using (var store = SqliteMetadataStore.Open(temp.FilePath))
        {
        }

        using (var connection = new SqliteConnection($"Data Source={temp.FilePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE mlmd_env SET schema_version = {SqliteMetadataStore.SchemaVersion + 1}; PRAGMA wal_checkpoint(TRUNCATE);";
            command.ExecuteNonQuery();
        }

        var before = File.ReadAllBytes(temp.FilePath);

        var error = Assert.Throws<MetadataStoreException>(() => SqliteMetadataStore.Open(temp.FilePath));

        Assert.Equal(MetadataErrorKind.NewerSchemaVersion, error.Kind);
        Assert.Contains($"version {SqliteMetadataStore.SchemaVersion + 1}", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(temp.FilePath));
    }

    [Fact]
    public async Task PutArtifactType_Twice_ReturnsSameTypeWithUnionOfProperties()
    {
        var store = temp.Open();
        var first = await store.PutArtifactTypeAsync("Model", new Dictionary<string, PropertyType> { ["framework"] = PropertyType.String });
        var second = await store.PutArtifactTypeAsync("Model", new Dictionary<string, PropertyType> { ["opset"] = PropertyType.Int });

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(PropertyType.String, second.Properties["framework"]);
        Assert.Equal(PropertyType.Int, second.Properties["opset"]);
        var read = await store.GetTypeAsync(TypeKind.Artifact, "Model");
        Assert.NotNull(read);
        Assert.Equal(2, read.Properties.Count);
        Assert.Null(await store.GetTypeAsync(TypeKind.Execution, "Model"));
    }

    [Fact]
    public async Task PutArtifactType_ConflictingPropertyType_ThrowsAlreadyExists()
    {
        var store = temp.Open();
        await store.PutArtifactTypeAsync("Model", new Dictionary<string, PropertyType> { ["opset"] = PropertyType.Int });

        var error = await Assert.ThrowsAsync<MetadataStoreException>(
            () => store.PutArtifactTypeAsync("Model", new Dictionary<string, PropertyType> { ["opset"] = PropertyType.String }));

        Assert.Equal(MetadataErrorKind.AlreadyExists, error.Kind);
        Assert.Contains("'opset'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PutArtifact_UnregisteredType_ThrowsNotFound()
    {
        var store = temp.Open();

        var error = await Assert.ThrowsAsync<MetadataStoreException>(() => store.PutArtifactAsync(new Artifact { Type = "Nope" }));

        Assert.Equal(MetadataErrorKind.NotFound, error.Kind);
        Assert.Contains("'Nope'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PutArtifact_UndeclaredOrMistypedProperty_ThrowsInvalidProperty()
    {
        var store = temp.Open();
        await store.PutArtifactTypeAsync("Schema", new Dictionary<string, PropertyType> { ["columns"] = PropertyType.Int });

        var undeclared = await Assert.ThrowsAsync<MetadataStoreException>(() => store.PutArtifactAsync(
            new Artifact { Type = "Schema", Properties = new Dictionary<string, MetadataValue> { ["rows"] = 3L } }));
        var mistyped = await Assert.ThrowsAsync<MetadataStoreException>(() => store.PutArtifactAsync(
            new Artifact { Type = "Schema", Properties = new Dictionary<string, MetadataValue> { ["columns"] = "three" } }));

        Assert.Equal(MetadataErrorKind.InvalidProperty, undeclared.Kind);
        Assert.Contains("'rows'", undeclared.Message, StringComparison.Ordinal);
        Assert.Equal(MetadataErrorKind.InvalidProperty, mistyped.Kind);
        Assert.Contains("declared Int", mistyped.Message, StringComparison.Ordinal);
        Assert.Empty(await store.GetArtifactsByTypeAsync("Schema"));
    }

    [Fact]
    public async Task PutArtifact_AllValueTypes_RoundTrip()
    {
        var store = temp.Open();
        await store.PutArtifactTypeAsync("Examples", new Dictionary<string, PropertyType> { ["span"] = PropertyType.Int });
        var stored = await store.PutArtifactAsync(new Artifact
        {
            Type = "Examples",
            Uri = "pipe/gen/examples/e1",
            Name = "examples-1",
            State = ArtifactState.Pending,
            Properties = new Dictionary<string, MetadataValue> { ["span"] = 7L },
            CustomProperties = new Dictionary<string, MetadataValue>
            {
                ["fingerprint"] = "sha256:abc",
                ["ratio"] = 0.25,
                ["whole"] = 2.0,
                ["split"] = true,
            },
        });

        var read = await store.GetArtifactAsync(stored.Id);

        Assert.NotNull(read);
        Assert.Equal("examples-1", read.Name);
        Assert.Equal(ArtifactState.Pending, read.State);
        Assert.Equal(MetadataValue.FromInt(7), read.Properties["span"]);
        Assert.Equal(MetadataValue.FromString("sha256:abc"), read.CustomProperties["fingerprint"]);
        Assert.Equal(MetadataValue.FromDouble(0.25), read.CustomProperties["ratio"]);
        Assert.Equal(PropertyType.Double, read.CustomProperties["whole"].Type);
        Assert.Equal(MetadataValue.FromBool(true), read.CustomProperties["split"]);
        Assert.Single(await store.GetArtifactsByUriAsync("pipe/gen/examples/e1"));
    }

    [Fact]
    public async Task PutArtifact_Update_ChangesStateAndKeepsCreateTime()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = temp.Open(clock);
        await store.PutArtifactTypeAsync("Model");
        var created = await store.PutArtifactAsync(new Artifact { Type = "Model", State = ArtifactState.Pending });
        clock.Now = clock.Now.AddMinutes(5);

        var updated = await store.PutArtifactAsync(created with { State = ArtifactState.Live });

        Assert.Equal(created.Id, updated.Id);
        Assert.Equal(ArtifactState.Live, updated.State);
        Assert.Equal(clock.Now.AddMinutes(-5), updated.CreateTime);
        Assert.Equal(clock.Now, updated.LastUpdateTime);
    }

    [Fact]
    public async Task PutArtifact_UpdateOfMissingId_ThrowsNotFound()
    {
        var store = temp.Open();
        await store.PutArtifactTypeAsync("Model");

        var error = await Assert.ThrowsAsync<MetadataStoreException>(() => store.PutArtifactAsync(new Artifact { Id = 42, Type = "Model" }));

        Assert.Equal(MetadataErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task PutContext_SameTypeAndName_ReturnsStoredContext()
    {
        var store = temp.Open();
        await store.PutContextTypeAsync(ContextTypes.PipelineRun);

        var first = await store.PutContextAsync(new Context { Type = ContextTypes.PipelineRun, Name = "run-1" });
        var again = await store.PutContextAsync(new Context { Type = ContextTypes.PipelineRun, Name = "run-1" });

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.Id, (await store.GetContextAsync(ContextTypes.PipelineRun, "run-1"))!.Id);
    }

    [Fact]
    public async Task PutExecution_WithArtifactsAndContexts_RecordsEventsAttributionsAndAssociations()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);
        var input = await store.PutArtifactAsync(new Artifact { Type = "Examples", Uri = "in", State = ArtifactState.Live });
        var run = new Context { Type = ContextTypes.PipelineRun, Name = "run-1" };

        var result = await store.PutExecutionAsync(
            new Execution { Type = "StatisticsGen", State = ExecutionState.Complete },
            [
                new ArtifactAndEvent(input, EventType.Input, "examples"),
                new ArtifactAndEvent(new Artifact { Type = "ExampleStatistics", Uri = "out", State = ArtifactState.Live }, EventType.Output, "statistics"),
            ],
            [run]);

        var io = await store.GetExecutionIoAsync(result.Execution.Id);
        Assert.Equal(ExecutionState.Complete, io.Execution.State);
        Assert.Equal(("examples", input.Id), (io.Inputs.Single().Channel, io.Inputs.Single().Artifact.Id));
        Assert.Equal(("statistics", "out"), (io.Outputs.Single().Channel, io.Outputs.Single().Artifact.Uri));
        var context = result.Contexts.Single();
        Assert.Equal([result.Execution.Id], (await store.GetExecutionsByContextAsync(context.Id)).Select(e => e.Id));
        Assert.Equal(2, (await store.GetArtifactsByContextAsync(context.Id)).Count);
        Assert.Equal(context.Id, (await store.GetContextsByExecutionAsync(result.Execution.Id)).Single().Id);
        Assert.Equal(context.Id, (await store.GetContextsByArtifactAsync(result.Artifacts[1].Id)).Single().Id);
    }

    [Fact]
    public async Task PutExecution_FailureMidway_RecordsNothing()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);

        await Assert.ThrowsAsync<MetadataStoreException>(() => store.PutExecutionAsync(
            new Execution { Type = "Trainer", Name = "trainer-1", State = ExecutionState.Complete },
            [
                new ArtifactAndEvent(new Artifact { Type = "Model", Uri = "model", State = ArtifactState.Live }, EventType.Output, "model"),
                new ArtifactAndEvent(new Artifact { Type = "NotRegistered", Uri = "x" }, EventType.Output, "model_run"),
            ],
            [new Context { Type = ContextTypes.PipelineRun, Name = "run-1" }]));

        Assert.Empty(await store.GetExecutionsByTypeAsync("Trainer"));
        Assert.Empty(await store.GetArtifactsByTypeAsync("Model"));
        Assert.Null(await store.GetContextAsync(ContextTypes.PipelineRun, "run-1"));
    }

    [Fact]
    public async Task PutExecution_DuplicateName_ThrowsAlreadyExists()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);
        await store.PutExecutionAsync(new Execution { Type = "Trainer", Name = "exec-1" });

        var error = await Assert.ThrowsAsync<MetadataStoreException>(() => store.PutExecutionAsync(new Execution { Type = "Trainer", Name = "exec-1" }));

        Assert.Equal(MetadataErrorKind.AlreadyExists, error.Kind);
        Assert.NotNull(await store.GetExecutionByNameAsync("Trainer", "exec-1"));
    }

    [Fact]
    public async Task PutEvents_UnknownArtifact_ThrowsNotFound()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);
        var execution = await store.PutExecutionAsync(new Execution { Type = "Trainer" });

        var error = await Assert.ThrowsAsync<MetadataStoreException>(
            () => store.PutEventsAsync([new Event(999, execution.Id, EventType.Input, "examples")]));

        Assert.Equal(MetadataErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task GetExecutionsByProperty_CustomStringProperty_ReturnsMatchesNewestFirst()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);
        var key = new Dictionary<string, MetadataValue> { ["cache_key"] = "k1" };
        var older = await store.PutExecutionAsync(new Execution { Type = "Trainer", CustomProperties = key });
        await store.PutExecutionAsync(new Execution { Type = "Trainer", CustomProperties = new Dictionary<string, MetadataValue> { ["cache_key"] = "k2" } });
        var newer = await store.PutExecutionAsync(new Execution { Type = "Trainer", CustomProperties = key });

        var found = await store.GetExecutionsByPropertyAsync("cache_key", "k1");

        Assert.Equal([newer.Id, older.Id], found.Select(e => e.Id));
        Assert.Empty(await store.GetExecutionsByPropertyAsync("cache_key", 1L));
    }

    [Fact]
    public async Task GetExecutionsOfRun_TwoRuns_ReturnsOnlyThatRunsExecutions()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);
        var a = await store.PutExecutionAsync(new Execution { Type = "Trainer" }, [], [new Context { Type = ContextTypes.PipelineRun, Name = "run-a" }]);
        var b = await store.PutExecutionAsync(new Execution { Type = "Pusher" }, [], [new Context { Type = ContextTypes.PipelineRun, Name = "run-a" }]);
        await store.PutExecutionAsync(new Execution { Type = "Trainer" }, [], [new Context { Type = ContextTypes.PipelineRun, Name = "run-b" }]);

        var ofRunA = await store.GetExecutionsOfRunAsync("run-a");

        Assert.Equal([a.Execution.Id, b.Execution.Id], ofRunA.Select(e => e.Id));
        Assert.Empty(await store.GetExecutionsOfRunAsync("run-unknown"));
    }

    [Fact]
    public async Task GetUpstreamLineage_PushedModel_ListsEveryUpstreamArtifactAndSourceFingerprint()
    {
        var store = temp.Open();
        var chain = await Fixture.BuildTfxChainAsync(store);

        var lineage = await store.GetUpstreamLineageAsync(chain.PushedModel.Id);

        var types = lineage.Artifacts.Select(a => a.Type).ToHashSet();
        Assert.Equal(
            new HashSet<string> { "PushedModel", "Model", "ModelBlessing", "ModelEvaluation", "TransformGraph", "Schema", "ExampleStatistics", "Examples", "ExternalFile" },
            types);
        Assert.Equal(chain.PushedModel.Id, lineage.Artifacts[0].Id);
        var source = lineage.Artifacts.Single(a => a.Type == "ExternalFile");
        Assert.Equal("sha256:source", source.CustomProperties["fingerprint"].StringValue);
        Assert.Equal(
            new HashSet<string> { "ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator", "Pusher" },
            lineage.Executions.Select(e => e.Type).ToHashSet());
        Assert.DoesNotContain(lineage.Artifacts, a => a.Id == chain.Unrelated.Id);
    }

    [Fact]
    public async Task GetUpstreamLineage_SourceArtifact_ReturnsOnlyItself()
    {
        var store = temp.Open();
        var chain = await Fixture.BuildTfxChainAsync(store);

        var lineage = await store.GetUpstreamLineageAsync(chain.Source.Id);

        Assert.Equal([chain.Source.Id], lineage.Artifacts.Select(a => a.Id));
        Assert.Empty(lineage.Executions);
    }

    [Fact]
    public async Task PutExecution_TwoStoresOnOneFileInParallel_RecordsEverything()
    {
        var first = temp.Open();
        await Fixture.RegisterTypesAsync(first);
        var second = temp.Open();

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            (i % 2 == 0 ? first : second).PutExecutionAsync(
                new Execution { Type = "Trainer", Name = $"e{i}", State = ExecutionState.Complete },
                [new ArtifactAndEvent(new Artifact { Type = "Model", Uri = $"m{i}", State = ArtifactState.Live }, EventType.Output, "model")],
                [new Context { Type = ContextTypes.PipelineRun, Name = "run" }]))));

        Assert.Equal(40, (await second.GetExecutionsOfRunAsync("run")).Count);
        Assert.Equal(40, (await first.GetArtifactsByTypeAsync("Model")).Count);
    }

    [Fact]
    public async Task PutAndGet_ManyConcurrentCallersOnOneStore_EachSeesItsOwnRecords()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);

        var stored = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            var put = await store.PutExecutionAsync(
                new Execution { Type = "Trainer", Name = $"c{i}", State = ExecutionState.Running, CustomProperties = new Dictionary<string, MetadataValue> { ["i"] = (long)i } },
                [new ArtifactAndEvent(new Artifact { Type = "Model", Uri = $"m{i}", State = ArtifactState.Live }, EventType.Output, "model")],
                [new Context { Type = ContextTypes.PipelineRun, Name = "run" }]);
            var read = await store.GetExecutionByNameAsync("Trainer", $"c{i}");
            var io = await store.GetExecutionIoAsync(put.Execution.Id);
            return (i, read, io);
        })));

        foreach (var (i, read, io) in stored)
        {
            Assert.Equal((long)i, read!.CustomProperties["i"].IntValue);
            Assert.Equal($"m{i}", Assert.Single(io.Outputs).Artifact.Uri);
        }

        Assert.Equal(60, (await store.GetExecutionsOfRunAsync("run")).Count);
    }

    [Fact]
    public async Task Dispose_ThenUsedAgain_ReopensTheFile()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);
        var before = await store.PutArtifactAsync(new Artifact { Type = "Model", Uri = "m1", State = ArtifactState.Live });

        store.Dispose();
        var after = await store.PutArtifactAsync(new Artifact { Type = "Model", Uri = "m2", State = ArtifactState.Live });

        Assert.Equal(["m1", "m2"], (await store.GetArtifactsByIdAsync([before.Id, after.Id])).Select(a => a.Uri));
    }

    [Fact]
    public async Task PutExecution_FailedTransaction_LeavesConnectionUsable()
    {
        var store = temp.Open();
        await Fixture.RegisterTypesAsync(store);
        await store.PutExecutionAsync(new Execution { Type = "Trainer", Name = "dup", State = ExecutionState.Complete });

        await Assert.ThrowsAsync<MetadataStoreException>(() => store.PutExecutionAsync(new Execution { Type = "Trainer", Name = "dup", State = ExecutionState.Complete }));
        var next = await store.PutExecutionAsync(new Execution { Type = "Trainer", Name = "next", State = ExecutionState.Complete });

        Assert.Equal("next", (await store.GetExecutionAsync(next.Id))!.Name);
        Assert.Equal(2, (await store.GetExecutionsByTypeAsync("Trainer")).Count);
    }
}
