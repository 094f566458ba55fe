using System.Text.Json;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving.Tests;

[Collection(ServerCollection.Name)]
public sealed class HotSwapTests(ServerFixture server)
{
    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => v.GetSingle()).ToArray();

    [Fact]
    public async Task Predict_NewVersionPushedWhileServing_PickedUpOldDrainedCorruptReportedEnd()
    {
        var row = TestModels.Row(5);
        using var s1 = InferenceSession.FromBytes(TestModels.Penguins(11));
        using var s2 = InferenceSession.FromBytes(TestModels.Penguins(12));
        var body = $$"""{"instances":[{{row.ToJson()}}]}""";

        var (missing, error) = await server.GetAsync("/v1/models/hot");
        Assert.Equal(404, missing);
        Assert.Contains("'hot' has no versions", error.GetProperty("error").GetString(), StringComparison.Ordinal);

        await server.Repository.PublishVersionAsync("hot", 1, TestModels.Penguins(11));
        await server.Manager.PollOnceAsync();
        var (ok1, first) = await server.PostAsync("/v1/models/hot:predict", body);
        Assert.Equal(200, ok1);
        Assert.Equal(TestModels.Direct(s1, row), Floats(first.GetProperty("predictions")[0]), (a, b) => Math.Abs(a - b) < 1e-5);

        // Load runs while version 2 is pushed and picked up: every request succeeds, answered by v1 or v2.
        using var stop = new CancellationTokenSource();
        var sawV2 = false;
        var load = Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested || n < 20)
            {
                var (status, response) = await server.PostAsync("/v1/models/hot:predict", body);
                Assert.Equal(200, status);
                var p = Floats(response.GetProperty("predictions")[0]);
                var isV1 = p.Zip(TestModels.Direct(s1, row)).All(t => Math.Abs(t.First - t.Second) < 1e-5);
                var isV2 = p.Zip(TestModels.Direct(s2, row)).All(t => Math.Abs(t.First - t.Second) < 1e-5);
                Assert.True(isV1 || isV2);
                if (isV2) sawV2 = true;
                n++;
            }
        });
        await Task.Delay(100);
        await server.Repository.PublishVersionAsync("hot", 2, TestModels.Penguins(12));
        await server.Manager.PollOnceAsync();
        await Task.Delay(100);
        await stop.CancelAsync();
        await load;
        Assert.True(sawV2);

        var statuses = await WaitForStateAsync("/v1/models/hot/versions/1", "END");
        Assert.Equal("OK", statuses.GetProperty("status").GetProperty("error_code").GetString());
        var (gone, goneBody) = await server.PostAsync("/v1/models/hot/versions/1:predict", body);
        Assert.Equal(404, gone);
        Assert.Contains("version 1", goneBody.GetProperty("error").GetString(), StringComparison.Ordinal);

        // A corrupt version 3: END with the error, version 2 keeps serving.
        await server.Repository.PublishVersionAsync("hot", 3, "not an onnx model"u8.ToArray());
        // A half-pushed version 4 (model file, no marker) is never loaded.
        await server.Repository.Store.UploadAsync(server.Repository.ModelBlobName("hot", 4), new MemoryStream(TestModels.Penguins(14)));
        await server.Manager.PollOnceAsync();
        var (st, all) = await server.GetAsync("/v1/models/hot");
        Assert.Equal(200, st);
        var v3 = all.GetProperty("model_version_status").EnumerateArray().Single(v => v.GetProperty("version").GetString() == "3");
        Assert.Equal("END", v3.GetProperty("state").GetString());
        Assert.NotEqual("OK", v3.GetProperty("status").GetProperty("error_code").GetString());
        Assert.False(string.IsNullOrEmpty(v3.GetProperty("status").GetProperty("error_message").GetString()));
        Assert.DoesNotContain(all.GetProperty("model_version_status").EnumerateArray(), v => v.GetProperty("version").GetString() == "4");
        var (ok2, latest) = await server.PostAsync("/v1/models/hot:predict", body);
        Assert.Equal(200, ok2);
        Assert.Equal(TestModels.Direct(s2, row), Floats(latest.GetProperty("predictions")[0]), (a, b) => Math.Abs(a - b) < 1e-5);
        var (meta, metaBody) = await server.GetAsync("/v1/models/hot/metadata");
        Assert.Equal(200, meta);
        Assert.Equal("2", metaBody.GetProperty("model_spec").GetProperty("version").GetString());
        var (v3Predict, v3Body) = await server.PostAsync("/v1/models/hot/versions/3:predict", body);
        Assert.Equal(404, v3Predict);
        Assert.Contains("END", v3Body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_ServingVersionFolderDeleted_KeepsServingUntilAnotherIsReady()
    {
        var row = TestModels.Row(7);
        using var s1 = InferenceSession.FromBytes(TestModels.Penguins(21));
        using var s2 = InferenceSession.FromBytes(TestModels.Penguins(22));
        var body = $$"""{"instances":[{{row.ToJson()}}]}""";
        await server.Repository.PublishVersionAsync("kept", 1, TestModels.Penguins(21));
        await server.Manager.PollOnceAsync();

        // The only version's folder goes away (an operator's rm -r, a failed sync): version 1 keeps answering.
        Directory.Delete(Path.Combine(server.Root, "kept", "1"), recursive: true);
        await server.Manager.PollOnceAsync();
        var (status, response) = await server.PostAsync("/v1/models/kept:predict", body);
        Assert.Equal(200, status);
        Assert.Equal(TestModels.Direct(s1, row), Floats(response.GetProperty("predictions")[0]), (a, b) => Math.Abs(a - b) < 1e-5);
        var (_, state) = await server.GetAsync("/v1/models/kept/versions/1");
        Assert.Equal("AVAILABLE", state.GetProperty("model_version_status")[0].GetProperty("state").GetString());

        // A corrupt version 2 is no replacement; a good version 3 is, and then version 1 is unloaded.
        await server.Repository.PublishVersionAsync("kept", 2, "not an onnx model"u8.ToArray());
        await server.Manager.PollOnceAsync();
        Assert.Equal(200, (await server.PostAsync("/v1/models/kept/versions/1:predict", body)).Status);
        await server.Repository.PublishVersionAsync("kept", 3, TestModels.Penguins(22));
        await server.Manager.PollOnceAsync();
        var (latest, latestBody) = await server.PostAsync("/v1/models/kept:predict", body);
        Assert.Equal(200, latest);
        Assert.Equal(TestModels.Direct(s2, row), Floats(latestBody.GetProperty("predictions")[0]), (a, b) => Math.Abs(a - b) < 1e-5);
        await WaitForStateAsync("/v1/models/kept/versions/1", "END");
    }

    private async Task<JsonElement> WaitForStateAsync(string path, string state)
    {
        for (var i = 0; i < 100; i++)
        {
            var (status, body) = await server.GetAsync(path);
            Assert.Equal(200, status);
            var s = body.GetProperty("model_version_status")[0];
            if (s.GetProperty("state").GetString() == state) return s;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{path} never reached {state}.");
    }
}
