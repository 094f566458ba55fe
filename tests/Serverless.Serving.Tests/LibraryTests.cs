using Serverless.Ml.Onnx.Runtime;
using Serverless.Storage;

namespace Serverless.Serving.Tests;

public sealed class ModelVersionManagerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "serving-mgr-" + Guid.NewGuid().ToString("N"));
    private readonly ModelRepository _repository;

    public ModelVersionManagerTests()
    {
        Directory.CreateDirectory(_root);
        _repository = new ModelRepository(new LocalDirectoryBlobStore(_root));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task PollOnce_NewVersionWhileRequestInFlight_OldUnloadsOnlyAfterRelease()
    {
        await _repository.PublishVersionAsync("m", 1, TestModels.Penguins(1));
        await using var manager = new ModelVersionManager(_repository);
        await manager.PollOnceAsync();
        var inFlight = manager.Acquire("m");
        Assert.Equal(1, inFlight.Servable.Version);

        await _repository.PublishVersionAsync("m", 2, TestModels.Penguins(2));
        await manager.PollOnceAsync();
        Assert.Equal(ModelVersionState.Unloading, manager.GetStatus("m", VersionSelector.ForVersion(1))[0].State);
        using (var latest = manager.Acquire("m")) Assert.Equal(2, latest.Servable.Version);
        // The draining version still runs for its in-flight request.
        Assert.Equal(3, TestModels.Direct(inFlight.Servable.Session, TestModels.Row(1)).Length);
        Assert.Throws<ServingException>(() => manager.Acquire("m", VersionSelector.ForVersion(1)));

        inFlight.Dispose();
        Assert.Equal(ModelVersionState.End, manager.GetStatus("m", VersionSelector.ForVersion(1))[0].State);
        Assert.Equal(0, inFlight.Servable.References);
    }

    [Fact]
    public async Task PollOnce_LabelledOldVersion_StaysLoadedBeyondKeepVersions()
    {
        for (var v = 1; v <= 3; v++) await _repository.PublishVersionAsync("m", v, TestModels.Penguins(v));
        await using var manager = new ModelVersionManager(_repository, new ServingOptions
        {
            Models = [new ModelConfig { Name = "m", VersionLabels = new Dictionary<string, long> { ["stable"] = 1 } }],
        });
        await manager.PollOnceAsync();
        var states = manager.GetStatus("m").ToDictionary(s => s.Version, s => s.State);
        Assert.Equal(ModelVersionState.Available, states[3]);
        Assert.Equal(ModelVersionState.Available, states[1]);
        Assert.False(states.ContainsKey(2) && states[2] == ModelVersionState.Available);
        using var stable = manager.Acquire("m", VersionSelector.ForLabel("stable"));
        Assert.Equal(1, stable.Servable.Version);

        manager.SetVersionLabel("m", "canary", 3);
        using var canary = manager.Acquire("m", VersionSelector.ForLabel("canary"));
        Assert.Equal(3, canary.Servable.Version);
    }

    [Fact]
    public async Task PollOnce_CorruptNewest_EndWithErrorPreviousServesAndNoRetry()
    {
        await _repository.PublishVersionAsync("m", 1, TestModels.Penguins(1));
        await _repository.PublishVersionAsync("m", 2, [1, 2, 3, 4]);
        var changes = new List<ModelVersionStatus>();
        await using var manager = new ModelVersionManager(_repository);
        manager.StateChanged += s => { lock (changes) changes.Add(s); };
        await manager.PollOnceAsync();
        await manager.PollOnceAsync();
        var v2 = manager.GetStatus("m", VersionSelector.ForVersion(2))[0];
        Assert.Equal(ModelVersionState.End, v2.State);
        Assert.Equal("INVALID_ARGUMENT", v2.ErrorCode);
        Assert.NotEmpty(v2.ErrorMessage);
        using (var h = manager.Acquire("m")) Assert.Equal(1, h.Servable.Version);
        Assert.Equal(1, changes.Count(c => c.Version == 2 && c.State == ModelVersionState.Loading));

        // Re-pushing a good model under the same number (a new marker) is loaded.
        await _repository.PublishVersionAsync("m", 2, TestModels.Penguins(2));
        await manager.PollOnceAsync();
        using (var h = manager.Acquire("m")) Assert.Equal(2, h.Servable.Version);
    }

    [Fact]
    public async Task Acquire_NoVersions_404NamesModel()
    {
        await using var manager = new ModelVersionManager(_repository, new ServingOptions { Models = [new ModelConfig { Name = "empty" }] });
        await manager.PollOnceAsync();
        var e = Assert.Throws<ServingException>(() => manager.Acquire("empty"));
        Assert.Equal(404, e.StatusCode);
        Assert.Contains("'empty'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_PollsInBackground_PicksUpNewModel()
    {
        await using var manager = new ModelVersionManager(_repository, new ServingOptions { PollInterval = TimeSpan.FromMilliseconds(50) });
        await manager.StartAsync();
        await _repository.PublishVersionAsync("late", 1, TestModels.Regressor());
        for (var i = 0; i < 100 && !manager.ModelNames.Contains("late"); i++) await Task.Delay(50);
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var h = manager.Acquire("late");
                Assert.Equal(1, h.Servable.Version);
                return;
            }
            catch (ServingException)
            {
                await Task.Delay(50);
            }
        }
        Assert.Fail("The new model was never loaded.");
    }
}

public sealed class ModelRepositoryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "serving-repo-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task ListVersions_MarkerMissing_NotReady()
    {
        Directory.CreateDirectory(_root);
        var repo = new ModelRepository(new LocalDirectoryBlobStore(_root), "serving");
        await repo.PublishVersionAsync("m", 1, [1]);
        await repo.Store.UploadAsync(repo.ModelBlobName("m", 2), new MemoryStream([2]));
        var versions = await repo.ListVersionsAsync("m");
        Assert.Equal([(1L, true), (2L, false)], versions.Select(v => (v.Version, v.Ready)));
        Assert.Equal(3, await repo.NextVersionAsync("m"));
        Assert.Equal(["m"], await repo.ListModelsAsync());
        Assert.True(File.Exists(Path.Combine(_root, "serving", "m", "1", ModelRepository.ReadyMarkerName)));
    }

    [Fact]
    public async Task Prune_KeepsNewest_DeletesOlder()
    {
        Directory.CreateDirectory(_root);
        var repo = new ModelRepository(new LocalDirectoryBlobStore(_root));
        for (var v = 1; v <= 4; v++) await repo.PublishVersionAsync("m", v, [(byte)v]);
        Assert.Equal([2L, 1L], await repo.PruneAsync("m", 2));
        Assert.Equal([3L, 4L], (await repo.ListVersionsAsync("m")).Select(v => v.Version));
    }

    [Fact]
    public void ModelBlobName_InvalidName_Throws()
    {
        var repo = new ModelRepository(new LocalDirectoryBlobStore(Path.GetTempPath()));
        Assert.Throws<ArgumentException>(() => repo.ModelBlobName("../x", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => repo.ModelBlobName("x", 0));
    }
}

public sealed class ModelLoaderTests
{
    [Fact]
    public void TryLoad_ValidModel_ReturnsSignature()
    {
        var result = ModelLoader.TryLoad(TestModels.Penguins(1));
        Assert.True(result.Succeeded);
        Assert.Equal(["island", "sex", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"], result.Signature!.Inputs.Select(i => i.Name));
        Assert.Equal(TestModels.Species, result.Signature.ClassLabels);
        Assert.True(result.Signature.Inputs.Single(i => i.Name == "body_mass_g").AllowsNaN);
        Assert.False(result.Signature.Inputs.Single(i => i.Name == "bill_length_mm").AllowsNaN);
    }

    [Fact]
    public void TryLoad_Garbage_ReturnsError()
    {
        var result = ModelLoader.TryLoad([0x0a, 0x05, 1, 2]);
        Assert.False(result.Succeeded);
        Assert.False(string.IsNullOrEmpty(result.Error));
    }
}

public sealed class RequestBatcherTests
{
    private static InferenceRequest Rows(ModelSignature sig, params float[][] rows)
    {
        var json = "{\"instances\":[" + string.Join(',', rows.Select(r => "[" + string.Join(',', r.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]")) + "]}";
        return Rest.TfServingRequestReader.ReadPredict(new System.Buffers.ReadOnlySequence<byte>(System.Text.Encoding.UTF8.GetBytes(json)), sig, out _);
    }

    [Fact]
    public async Task SubmitAsync_AnnouncedRequests_RunAsOneBatchAndSplitBack()
    {
        using var loaded = ModelLoader.Load(TestModels.Regressor());
        var calls = new List<long>();
        using var batcher = new RequestBatcher(inputs =>
        {
            lock (calls) calls.Add(inputs[0].Tensor.Shape[0]);
            return loaded.Session.Run(inputs);
        }, new BatchingOptions { MaxBatchSize = 64, MaxWait = TimeSpan.FromSeconds(30) });
        for (var i = 0; i < 8; i++) batcher.Expect();
        var requests = Enumerable.Range(0, 8).Select(i => Rows(loaded.Signature, [i, 0, 0])).ToList();
        var tasks = requests.Select(r => Task.Run(() => batcher.SubmitAsync(r, expected: true))).ToList();
        var results = await Task.WhenAll(tasks);
        Assert.Equal([8L], calls);
        for (var i = 0; i < 8; i++)
        {
            var r = results[i];
            Assert.Equal(1, r.Rows);
            Assert.Equal(i + 0.5f, r.Outputs[0].Tensor.GetData<float>()[r.RowOffset]);
        }
        foreach (var r in requests) r.Dispose();
    }

    [Fact]
    public async Task SubmitAsync_FullBatch_SplitsAtMaxBatchSize()
    {
        using var loaded = ModelLoader.Load(TestModels.Regressor());
        var calls = new List<long>();
        using var batcher = new RequestBatcher(inputs =>
        {
            lock (calls) calls.Add(inputs[0].Tensor.Shape[0]);
            return loaded.Session.Run(inputs);
        }, new BatchingOptions { MaxBatchSize = 4, MaxWait = TimeSpan.FromSeconds(30) });
        for (var i = 0; i < 7; i++) batcher.Expect(); // one more announced than submitted: only "full" or the timer can run a batch
        var tasks = Enumerable.Range(0, 6).Select(i => batcher.SubmitAsync(Rows(loaded.Signature, [i, 0, 0]), expected: true)).ToList();
        await tasks[3];
        Assert.Equal([4L], calls);
        Assert.False(tasks[4].IsCompleted);
        batcher.Withdraw(); // the announced seventh never comes: the rest run
        await Task.WhenAll(tasks);
        Assert.Equal([4L, 2L], calls);
    }

    [Fact]
    public async Task SubmitAsync_MaxWaitElapsed_RunsWithoutTheAnnouncedRest()
    {
        using var loaded = ModelLoader.Load(TestModels.Regressor());
        using var batcher = new RequestBatcher(inputs => loaded.Session.Run(inputs), new BatchingOptions { MaxWait = TimeSpan.FromMilliseconds(20) });
        batcher.Expect();
        batcher.Expect();
        using var request = Rows(loaded.Signature, [1, 1, 1]);
        var result = await batcher.SubmitAsync(request, expected: true).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(6.5f, result.Outputs[0].Tensor.GetData<float>()[0]);
    }
}
