using Serverless.Ml.Components.Evaluator;

namespace Serverless.Ml.Shipping.Tests;

public sealed class MetricValidatorTests
{
    private static readonly Dictionary<string, double> Candidate = new() { ["accuracy"] = 0.90, ["log_loss"] = 0.30 };
    private static readonly Dictionary<string, double> Baseline = new() { ["accuracy"] = 0.92, ["log_loss"] = 0.25 };

    [Fact]
    public void Validate_NoThresholds_NotAttemptedAndSaysSo()
    {
        var result = MetricValidator.Validate(MetricValidator.Parse(""), Candidate, Baseline);

        Assert.False(result.Attempted);
        Assert.False(result.Blessed);
        Assert.Contains(result.Notes, n => n.Contains("no blessing attempted", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"accuracy":{"value_threshold":{"lower_bound":0.85}}}""", true)]
    [InlineData("""{"accuracy":{"value_threshold":{"lower_bound":{"value":0.95}}}}""", false)]
    [InlineData("""{"log_loss":{"value_threshold":{"upper_bound":0.2}}}""", false)]
    [InlineData("""{"accuracy":{"value_threshold":{"lower_bound":0.8,"upper_bound":0.9}}}""", true)]
    public void Validate_ValueThreshold_BoundsInclusive(string json, bool blessed)
    {
        Assert.Equal(blessed, MetricValidator.Validate(MetricValidator.Parse(json), Candidate, null).Blessed);
    }

    [Theory]
    [InlineData("HIGHER_IS_BETTER", "\"absolute\": -1e-10", false)] // accuracy dropped 0.02
    [InlineData("HIGHER_IS_BETTER", "\"absolute\": -0.05", true)] // a drop of up to 0.05 tolerated
    [InlineData("HIGHER_IS_BETTER", "\"relative\": -0.01", false)] // -0.02/0.92 = -2.2%
    [InlineData("HIGHER_IS_BETTER", "\"relative\": -0.03", true)]
    public void Validate_ChangeThresholdOnAccuracy_ComparesWithBaseline(string direction, string bound, bool blessed)
    {
        var json = "{\"accuracy\":{\"change_threshold\":{\"direction\":\"" + direction + "\", " + bound + "}}}";
        var result = MetricValidator.Validate(MetricValidator.Parse(json), Candidate, Baseline);

        Assert.Equal(blessed, result.Blessed);
        Assert.Equal(blessed, result.Checks.Single(c => c.Kind == "change").Passed);
    }

    [Theory]
    [InlineData("\"absolute\": 0.1", true)] // loss rose 0.05 <= 0.1
    [InlineData("\"absolute\": 0", false)]
    [InlineData("\"relative\": 0.1", false)] // +20%
    public void Validate_LowerIsBetter_LimitsIncrease(string bound, bool blessed)
    {
        var json = "{\"log_loss\":{\"change_threshold\":{\"direction\":\"LOWER_IS_BETTER\", " + bound + "}}}";
        Assert.Equal(blessed, MetricValidator.Validate(MetricValidator.Parse(json), Candidate, Baseline).Blessed);
    }

    [Fact]
    public void Validate_NoBaseline_SkipsChangeAppliesValue()
    {
        var thresholds = MetricValidator.Parse("""{"accuracy":{"value_threshold":{"lower_bound":0.95},"change_threshold":{"direction":"HIGHER_IS_BETTER","absolute":-1e-10}}}""");
        var result = MetricValidator.Validate(thresholds, Candidate, baseline: null);

        Assert.True(result.Attempted);
        Assert.False(result.Blessed);
        Assert.Single(result.Checks);
        Assert.Equal("value", result.Checks[0].Kind);
        Assert.Contains(result.Notes, n => n.Contains("change thresholds skipped", StringComparison.Ordinal));
        Assert.Contains("< lower_bound 0.95", result.Failures.Single().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownMetric_FailsNamingIt()
    {
        var result = MetricValidator.Validate(MetricValidator.Parse("""{"auc_pr":{"value_threshold":{"lower_bound":0.5}}}"""), Candidate, null);

        Assert.False(result.Blessed);
        Assert.Contains("auc_pr was not computed", result.Failures.Single().Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"accuracy":{"valu_threshold":{"lower_bound":1}}}""")]
    [InlineData("""{"accuracy":{"change_threshold":{"direction":"UP","absolute":0}}}""")]
    [InlineData("""{"accuracy":{}}""")]
    public void Parse_BadConfig_Throws(string json)
    {
        Assert.Throws<ArgumentException>(() => MetricValidator.Parse(json));
    }
}
