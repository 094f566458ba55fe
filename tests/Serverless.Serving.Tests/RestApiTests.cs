using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Serving.Tests;

[Collection(ServerCollection.Name)]
public sealed class RestApiTests(ServerFixture server)
{
    private const string Row0 = """{"island":"Biscoe","sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":3750}""";

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => v.GetSingle()).ToArray();

    private static float[] Expected(int version, TestModels.PenguinRow row)
    {
        using var session = InferenceSession.FromBytes(TestModels.Penguins(version));
        return TestModels.Direct(session, row);
    }

    private static readonly TestModels.PenguinRow Row0Values = new("Biscoe", "male", 39.1f, 18.7f, 181, 3750);

    [Fact]
    public async Task GetStatus_AllVersions_ListsBothAvailable()
    {
        var (status, body) = await server.GetAsync("/v1/models/penguins");
        Assert.Equal(200, status);
        var versions = body.GetProperty("model_version_status").EnumerateArray().ToList();
        Assert.Equal(["2", "1"], versions.Select(v => v.GetProperty("version").GetString()));
        Assert.All(versions, v =>
        {
            Assert.Equal("AVAILABLE", v.GetProperty("state").GetString());
            Assert.Equal("OK", v.GetProperty("status").GetProperty("error_code").GetString());
            Assert.Equal("", v.GetProperty("status").GetProperty("error_message").GetString());
        });
    }

    [Theory]
    [InlineData("/v1/models/penguins/versions/1", "1")]
    [InlineData("/v1/models/penguins/labels/stable", "1")]
    [InlineData("/v1/models/penguins/labels/canary", "2")]
    public async Task GetStatus_VersionOrLabel_ReturnsThatVersion(string path, string version)
    {
        var (status, body) = await server.GetAsync(path);
        Assert.Equal(200, status);
        var only = Assert.Single(body.GetProperty("model_version_status").EnumerateArray());
        Assert.Equal(version, only.GetProperty("version").GetString());
    }

    [Theory]
    [InlineData("/v1/models/nope", "nope")]
    [InlineData("/v1/models/penguins/versions/9", "version 9")]
    [InlineData("/v1/models/penguins/labels/blue", "'blue'")]
    [InlineData("/v1/models/nope/metadata", "nope")]
    [InlineData("/v1/models/penguins/versions/9/metadata", "version 9")]
    [InlineData("/v2/models/penguins", "/v2/models/penguins")]
    [InlineData("/v1/models/penguins/bogus", "/v1/models/penguins/bogus")]
    public async Task Get_Unknown_404NamesIt(string path, string named)
    {
        var (status, body) = await server.GetAsync(path);
        Assert.Equal(404, status);
        Assert.Contains(named, body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetMetadata_Latest_DescribesSignature()
    {
        var (status, body) = await server.GetAsync("/v1/models/penguins/metadata");
        Assert.Equal(200, status);
        Assert.Equal("2", body.GetProperty("model_spec").GetProperty("version").GetString());
        Assert.Equal("penguins", body.GetProperty("model_spec").GetProperty("name").GetString());
        var sig = body.GetProperty("metadata").GetProperty("signature_def").GetProperty("signature_def").GetProperty("serving_default");
        var inputs = sig.GetProperty("inputs");
        Assert.Equal("DT_STRING", inputs.GetProperty("island").GetProperty("dtype").GetString());
        Assert.Equal("DT_FLOAT", inputs.GetProperty("body_mass_g").GetProperty("dtype").GetString());
        var dims = inputs.GetProperty("bill_length_mm").GetProperty("tensor_shape").GetProperty("dim").EnumerateArray().Select(d => d.GetProperty("size").GetString()).ToList();
        Assert.Equal(["-1", "1"], dims);
        Assert.Equal(6, inputs.EnumerateObject().Count());
        var output = sig.GetProperty("outputs").GetProperty("probabilities");
        Assert.Equal(["-1", "3"], output.GetProperty("tensor_shape").GetProperty("dim").EnumerateArray().Select(d => d.GetProperty("size").GetString()));
    }

    [Fact]
    public async Task GetMetadata_Label_ReportsLabelledVersion()
    {
        var (status, body) = await server.GetAsync("/v1/models/penguins/labels/stable/metadata");
        Assert.Equal(200, status);
        Assert.Equal("1", body.GetProperty("model_spec").GetProperty("version").GetString());
    }

    [Fact]
    public async Task Predict_RowFormat_MatchesDirectSession()
    {
        var (status, body) = await server.PostAsync("/v1/models/penguins:predict", $$"""{"signature_name":"serving_default","instances":[{{Row0}}]}""");
        Assert.Equal(200, status);
        var p = Floats(Assert.Single(body.GetProperty("predictions").EnumerateArray()));
        Assert.Equal(Expected(2, Row0Values), p, (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Theory]
    [InlineData("/v1/models/penguins/versions/1:predict", 1)]
    [InlineData("/v1/models/penguins/labels/stable:predict", 1)]
    [InlineData("/v1/models/penguins/labels/canary:predict", 2)]
    [InlineData("/v1/models/penguins/versions/2:predict", 2)]
    public async Task Predict_VersionOrLabel_UsesThatVersion(string path, int version)
    {
        var (status, body) = await server.PostAsync(path, $$"""{"instances":[{{Row0}}]}""");
        Assert.Equal(200, status);
        var p = Floats(body.GetProperty("predictions")[0]);
        Assert.Equal(Expected(version, Row0Values), p, (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.NotEqual(Expected(3 - version, Row0Values), p, (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public async Task Predict_ColumnarFormat_ReturnsOutputsPerRow()
    {
        var rows = Enumerable.Range(0, 3).Select(TestModels.Row).ToList();
        string Col(Func<TestModels.PenguinRow, string> f) => "[" + string.Join(',', rows.Select(f)) + "]";
        var inv = CultureInfo.InvariantCulture;
        var json = "{\"inputs\":{\"island\":" + Col(r => $"[\"{r.Island}\"]") + ",\"sex\":" + Col(r => $"\"{r.Sex}\"")
            + ",\"bill_length_mm\":" + Col(r => r.Bill.ToString(inv)) + ",\"bill_depth_mm\":" + Col(r => r.Depth.ToString(inv))
            + ",\"flipper_length_mm\":" + Col(r => r.Flipper.ToString(inv)) + ",\"body_mass_g\":" + Col(r => $"[{r.Mass.ToString(inv)}]") + "}}";
        var (status, body) = await server.PostAsync("/v1/models/penguins/versions/1:predict", json);
        Assert.Equal(200, status);
        var outputs = body.GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal(3, outputs.Count);
        for (var i = 0; i < 3; i++) Assert.Equal(Expected(1, rows[i]), Floats(outputs[i]), (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public async Task Predict_NaNOnImputedInput_Accepted()
    {
        var json = Row0.Replace("3750", "null", StringComparison.Ordinal);
        var (status, body) = await server.PostAsync("/v1/models/penguins:predict", $$"""{"instances":[{{json}}, {{Row0.Replace("3750", "\"NaN\"", StringComparison.Ordinal)}}]}""");
        Assert.Equal(200, status);
        var expected = Expected(2, Row0Values with { Mass = 4200 }); // the graph imputes 4200
        foreach (var p in body.GetProperty("predictions").EnumerateArray()) Assert.Equal(expected, Floats(p), (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Theory]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181}]}""", "missing input 'body_mass_g'")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":1,"species":"Adelie"}]}""", "unknown input 'species'")]
    [InlineData("""{"instances":[{"island":5,"sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":1}]}""", "instances[0].island")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":"long","bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":1}]}""", "instances[0].bill_length_mm")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":[1,2],"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":1}]}""", "bill_length_mm: expected shape [1] per instance, got [2]")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":null,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":1}]}""", "'bill_length_mm' does not accept NaN")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":1,"bill_depth_mm":"NaN","flipper_length_mm":181,"body_mass_g":1}]}""", "'bill_depth_mm' does not accept NaN")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":1e309,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":1}]}""", "instances[0].bill_length_mm: 1e309 is not a finite DT_FLOAT")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":1,"bill_depth_mm":-4e38,"flipper_length_mm":181,"body_mass_g":1}]}""", "instances[0].bill_depth_mm: -4e38 is not a finite DT_FLOAT")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":1,"bill_depth_mm":2,"flipper_length_mm":"Infinity","body_mass_g":1}]}""", "instances[0].flipper_length_mm: \"Infinity\" is not a finite DT_FLOAT")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":1,"bill_depth_mm":2,"flipper_length_mm":3,"body_mass_g":-1e400}]}""", "instances[0].body_mass_g: -1e400 is not a finite DT_FLOAT")]
    [InlineData("""{"inputs":{"island":["a"],"sex":["m"],"bill_length_mm":[1e309],"bill_depth_mm":[1],"flipper_length_mm":[1],"body_mass_g":[1]}}""", "inputs.bill_length_mm: 1e309 is not a finite DT_FLOAT")]
    [InlineData("""{"instances":[{"island":"Biscoe","island":"Dream"}]}""", "'island' is given twice")]
    [InlineData("""{"instances":[]}""", "'instances' is empty")]
    [InlineData("""{"instances":[1,2]}""", "instances[0] must be an object")]
    [InlineData("""{"inputs":{"island":[["a"]]}}""", "missing input 'sex'")]
    [InlineData("""{"inputs":{"island":["a","b"],"sex":["m"],"bill_length_mm":[1,2],"bill_depth_mm":[1,2],"flipper_length_mm":[1,2],"body_mass_g":[1,2]}}""", "inputs.sex: has 1 rows")]
    [InlineData("""{"instances":[{"island":"Biscoe","sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":1}], "inputs":{}}""", "not both")]
    [InlineData("""{"rows":[]}""", "Unknown field 'rows'")]
    [InlineData("""{"signature_name":"other","instances":[]}""", "signature_name 'other'")]
    [InlineData("""{"instances":[{"island":"Biscoe",""", "Malformed JSON")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    public async Task Predict_BadInput_400NamesField(string json, string named)
    {
        var (status, body) = await server.PostAsync("/v1/models/penguins:predict", json);
        Assert.Equal(400, status);
        Assert.Contains(named, body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_NonFiniteFeature_400NamesField()
    {
        var json = """{"examples":[{"island":"Biscoe","sex":"male","bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":1e309,"body_mass_g":3750}]}""";
        var (status, body) = await server.PostAsync("/v1/models/penguins:classify", json);
        Assert.Equal(400, status);
        Assert.Contains("examples[0].flipper_length_mm: 1e309 is not a finite DT_FLOAT", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_BodyOverLimit_413NamesLimit()
    {
        var big = "{\"instances\":[" + string.Join(',', Enumerable.Repeat(Row0, (int)(ServerFixture.BodyLimit / Row0.Length) + 10)) + "]}";
        var (status, body) = await server.PostAsync("/v1/models/penguins:predict", big);
        Assert.Equal(413, status);
        Assert.Contains("MaxRequestBodyBytes", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/models/penguins:predict", "instances")]
    [InlineData("/v1/models/penguins:predict", "inputs")]
    [InlineData("/v1/models/penguins:classify", "examples")]
    public async Task Infer_MoreRowsThanLimit_413NamesSetting(string path, string format)
    {
        string Body(int rows) => format switch
        {
            "inputs" => "{\"inputs\":{" + string.Join(',', new[] { "island", "sex" }.Select(n => $"\"{n}\":[{string.Join(',', Enumerable.Repeat("\"x\"", rows))}]")
                .Concat(new[] { "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g" }.Select(n => $"\"{n}\":[{string.Join(',', Enumerable.Repeat("1", rows))}]"))) + "}}",
            _ => $"{{\"{format}\":[{string.Join(',', Enumerable.Repeat(Row0, rows))}]}}",
        };
        var (ok, _) = await server.PostAsync(path, Body(ServerFixture.RowLimit));
        Assert.Equal(200, ok);
        var (status, body) = await server.PostAsync(path, Body(ServerFixture.RowLimit + 1));
        Assert.Equal(413, status);
        var error = body.GetProperty("error").GetString();
        Assert.Contains($"more than {ServerFixture.RowLimit} rows", error, StringComparison.Ordinal);
        Assert.Contains("MaxRequestRows", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_ResponseOverLimit_413NamesSetting()
    {
        // echo returns its strings as base64: 20 rows of 1,000 characters make a response over the 16 KiB limit.
        var text = new string('a', 1000);
        var rows = string.Join(',', Enumerable.Repeat($"\"{text}\"", 20));
        var (status, body) = await server.PostAsync("/v1/models/echo:predict", $"{{\"instances\":[{rows}]}}");
        Assert.Equal(413, status);
        Assert.Contains("MaxResponseBytes", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        var (small, _) = await server.PostAsync("/v1/models/echo:predict", $"{{\"instances\":[\"{text}\"]}}");
        Assert.Equal(200, small);
    }

    [Theory]
    [InlineData("/v1/models/nope:predict", "'nope'")]
    [InlineData("/v1/models/penguins/versions/7:predict", "version 7")]
    [InlineData("/v1/models/penguins/labels/gold:predict", "'gold'")]
    [InlineData("/v1/models/penguins:explain", ":explain")]
    public async Task Predict_UnknownTarget_404NamesIt(string path, string named)
    {
        var (status, body) = await server.PostAsync(path, $$"""{"instances":[{{Row0}}]}""");
        Assert.Equal(404, status);
        Assert.Contains(named, body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_VersionNotANumber_400()
    {
        var (status, body) = await server.PostAsync("/v1/models/penguins/versions/abc:predict", $$"""{"instances":[{{Row0}}]}""");
        Assert.Equal(400, status);
        Assert.Contains("'abc'", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_B64String_RoundTripsAsB64()
    {
        var text = "héllo, wörld";
        var b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        var (status, body) = await server.PostAsync("/v1/models/echo:predict", $$"""{"instances":[{"b64":"{{b64}}"}, {"text":"plain"}, ["x"]]}""");
        Assert.Equal(200, status);
        var p = body.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(b64, p[0][0].GetProperty("b64").GetString());
        Assert.Equal("plain", Encoding.UTF8.GetString(Convert.FromBase64String(p[1][0].GetProperty("b64").GetString()!)));
        Assert.Equal("x", Encoding.UTF8.GetString(Convert.FromBase64String(p[2][0].GetProperty("b64").GetString()!)));
    }

    [Theory]
    [InlineData("""{"instances":[{"b64":"%%%"}]}""", "not valid base64")]
    [InlineData("""{"instances":[{"b64":"/w=="}]}""", "not UTF-8")]
    [InlineData("""{"instances":[{"b64":"aGk=","x":1}]}""", "only the 'b64' field")]
    public async Task Predict_BadB64_400(string json, string named)
    {
        var (status, body) = await server.PostAsync("/v1/models/echo:predict", json);
        Assert.Equal(400, status);
        Assert.Contains(named, body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_BareValuesForSingleInput_Accepted()
    {
        var (status, body) = await server.PostAsync("/v1/models/reg:predict", """{"instances":[[1,1,1],[0,0,1]]}""");
        Assert.Equal(200, status);
        var p = body.GetProperty("predictions").EnumerateArray().Select(r => r[0].GetSingle()).ToList();
        Assert.Equal([6.5f, 3.5f], p);
        var (status2, body2) = await server.PostAsync("/v1/models/reg:predict", """{"inputs":[[1,0,0]]}""");
        Assert.Equal(200, status2);
        Assert.Equal(1.5f, body2.GetProperty("outputs")[0][0].GetSingle());
    }

    [Fact]
    public async Task Predict_WrongShapeForVectorInput_400()
    {
        var (status, body) = await server.PostAsync("/v1/models/reg:predict", """{"instances":[[1,1]]}""");
        Assert.Equal(400, status);
        Assert.Contains("expected shape [3] per instance, got [2]", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_ExamplesWithContext_ReturnsLabelledScores()
    {
        var json = """
            {"signature_name":"serving_default","context":{"island":"Biscoe","sex":"male"},
             "examples":[{"bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":3750},
                         {"bill_length_mm":[50],"bill_depth_mm":15,"flipper_length_mm":220,"body_mass_g":5000}]}
            """;
        var (status, body) = await server.PostAsync("/v1/models/penguins/versions/1:classify", json);
        Assert.Equal(200, status);
        var results = body.GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        var first = results[0].EnumerateArray().ToList();
        Assert.Equal(TestModels.Species, first.Select(c => c[0].GetString()));
        Assert.Equal(Expected(1, Row0Values), first.Select(c => c[1].GetSingle()), (a, b) => Math.Abs(a - b) < 1e-5);
        var second = results[1].EnumerateArray().Select(c => c[1].GetSingle()).ToArray();
        Assert.Equal(Expected(1, new TestModels.PenguinRow("Biscoe", "male", 50, 15, 220, 5000)), second, (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Theory]
    [InlineData("""{"context":{"island":"Biscoe"},"examples":[{"island":"Dream"}]}""", "'island' is also in 'context'")]
    [InlineData("""{"examples":[{"island":"Dream"}]}""", "examples[0]: missing input 'sex'")]
    [InlineData("""{"context":{"island":"Biscoe"}}""", "needs 'examples'")]
    public async Task Classify_BadExamples_400(string json, string named)
    {
        var (status, body) = await server.PostAsync("/v1/models/penguins:classify", json);
        Assert.Equal(400, status);
        Assert.Contains(named, body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Regress_Examples_ReturnsValues()
    {
        var (status, body) = await server.PostAsync("/v1/models/reg:regress", """{"examples":[{"x":[1,1,1]},{"x":[2,0,0]}]}""");
        Assert.Equal(200, status);
        Assert.Equal([6.5f, 2.5f], body.GetProperty("result").EnumerateArray().Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task Regress_ClassifierWithThreeScores_400()
    {
        var (status, body) = await server.PostAsync("/v1/models/penguins:regress", $$"""{"examples":[{{Row0}}]}""");
        Assert.Equal(400, status);
        Assert.Contains("one value per row", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_WithGet_405()
    {
        var (status, body) = await server.GetAsync("/v1/models/penguins:predict");
        Assert.Equal(405, status);
        Assert.Contains("POST", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_ConcurrentSingleRows_EachMatchesSingleRowResult()
    {
        using var session = InferenceSession.FromBytes(TestModels.Penguins(1));
        var batchesBefore = BatchesOf(1);
        var tasks = Enumerable.Range(0, 96).Select(async i =>
        {
            var row = TestModels.Row(i);
            var (status, body) = await server.PostAsync("/v1/models/penguins/versions/1:predict", $$"""{"instances":[{{row.ToJson()}}]}""");
            Assert.Equal(200, status);
            return (row, Floats(body.GetProperty("predictions")[0]));
        }).ToList();
        foreach (var (row, got) in await Task.WhenAll(tasks))
            Assert.Equal(TestModels.Direct(session, row), got, (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.True(BatchesOf(1) - batchesBefore <= 96);
    }

    private long BatchesOf(long version)
    {
        using var h = server.Manager.Acquire("penguins", VersionSelector.ForVersion(version));
        return h.Servable.Batcher.BatchesRun;
    }
}
