using Serverless.Ml.Data;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data.Statistics;
using Serverless.Ml.Data.TfRecord;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.StatisticsGen;

/// <summary>
/// Runs <see cref="StatisticsGenComponent"/>. Every shard of every split is a separate task (bounded by
/// <c>parallelism</c>): it copies the shard to scratch and builds partial statistics with its own
/// <see cref="StatisticsBuilder"/>, so memory is one batch per running task whatever the input size. Partials of a
/// split are merged in shard order, so the output is the same on every run. When a split has more values per feature
/// than the quantile sketch keeps, its standard histograms are counted exactly by a second pass over the same local
/// shard copies (<see cref="HistogramPass"/>, one per shard, summed); scratch holds the split's shards until then.
/// </summary>
/// <remarks>
/// Why fan out inside the executor rather than one activity per shard: a node is one activity and one execution in
/// the metadata store (cache key, lineage, atomic publish), and a shard's partial state is only useful merged. The
/// per shard work is already independent and mergeable (<see cref="StatisticsBuilder.ToPartialJson"/>), so an
/// orchestrator-level fan-out remains possible later without changing the output. Each shard is read on its own,
/// so shards whose column types differ are merged, not rejected: the type change shows in
/// <c>conflicting_types</c> and ExampleValidator reports it as an anomaly.
/// </remarks>
public sealed class StatisticsGenExecutor : IComponentExecutor
{
    /// <summary>The file name of a split's statistics inside the artifact: <c>Split-{name}/FeatureStats.json</c>.</summary>
    public static string StatisticsPath(string split) => $"Split-{split}/FeatureStats.json";

    /// <summary>The HTML report's file name.</summary>
    public const string ReportPath = "report.html";

    /// <summary>The table schema (columns, kinds, tensor shapes) of the first shard, for SchemaGen's shapes.</summary>
    public const string TableSchemaPath = "table_schema.json";

    /// <inheritdoc />
    public async Task ExecuteAsync(
        IReadOnlyDictionary<string, InputArtifact> inputs,
        IReadOnlyDictionary<string, OutputArtifact> outputs,
        ComponentParameters parameters,
        ExecutorContext context,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(context);
        var examples = inputs["examples"];
        var splits = ArtifactFiles.SplitNames(examples.Artifact);
        if (splits.Count == 0)
        {
            splits = examples.Files.Select(f => f.Path.Split('/')[0]).Where(p => p.StartsWith("Split-", StringComparison.Ordinal))
                .Select(p => p["Split-".Length..]).Distinct(StringComparer.Ordinal).ToList();
        }

        (splits, var excluded) = ArtifactFiles.ExcludeSplits(splits, parameters);
        if (splits.Count == 0)
        {
            throw new InvalidDataException($"examples '{examples.Artifact.Uri}' have no split to compute statistics of (splits excluded: {string.Join(", ", excluded)})");
        }

        var options = new StatisticsOptions
        {
            NumHistogramBuckets = (int)Math.Clamp(parameters.GetInt64("num_histogram_buckets"), 1, 1000),
            NumQuantilesHistogramBuckets = (int)Math.Clamp(parameters.GetInt64("num_histogram_buckets"), 1, 1000),
            NumTopValues = (int)Math.Clamp(parameters.GetInt64("num_top_values"), 1, 10_000),
        };
        var shards = splits.SelectMany(split => ShardsOf(examples, split).Select((path, index) => new Shard(split, index, path))).ToList();
        var missing = splits.FirstOrDefault(s => !shards.Any(x => x.Split == s));
        if (missing is not null)
        {
            throw new InvalidDataException($"examples '{examples.Artifact.Uri}' have no shard for split '{missing}' (expected Split-{missing}/*.smlc or *tfrecord*)");
        }

        var parallelism = parameters.GetInt64("parallelism") is > 0 and var p ? (int)p : Environment.ProcessorCount;
        var scratch = ArtifactFiles.NewScratch(context);
        var partials = new StatisticsBuilder[shards.Count];
        var locals = new string[shards.Count];
        var merged = new Dictionary<string, StatisticsBuilder>(StringComparer.Ordinal);
        TableSchema? firstSchema = null;
        try
        {
            // Within a shard, features run in parallel only when there are fewer shards than workers.
            var perShardParallel = shards.Count < parallelism;
            await Parallel.ForEachAsync(
                Enumerable.Range(0, shards.Count),
                new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellation },
                async (i, ct) =>
                {
                    var shard = shards[i];
                    var local = locals[i] = await ArtifactFiles.DownloadAsync(examples, shard.Path, scratch, ct).ConfigureAwait(false);
                    var builder = new StatisticsBuilder(new StatisticsOptions
                    {
                        NumHistogramBuckets = options.NumHistogramBuckets,
                        NumQuantilesHistogramBuckets = options.NumQuantilesHistogramBuckets,
                        NumTopValues = options.NumTopValues,
                        Parallel = perShardParallel,
                    });
                    var reader = Open(local);
                    if (i == 0)
                    {
                        firstSchema = reader.Schema;
                    }

                    foreach (var batch in reader.ReadBatches(ct))
                    {
                        builder.Add(batch);
                    }

                    partials[i] = builder;
                }).ConfigureAwait(false);

            foreach (var split in splits)
            {
                var builder = new StatisticsBuilder(options);
                for (var i = 0; i < shards.Count; i++)
                {
                    if (shards[i].Split == split)
                    {
                        builder.Merge(partials[i]);
                    }
                }

                merged[split] = builder;
            }

            await CountHistogramsAsync(shards, locals, merged, parallelism, cancellation).ConfigureAwait(false);
        }
        finally
        {
            ArtifactFiles.DeleteScratch(scratch);
        }

        var output = outputs["statistics"];
        var all = new DatasetFeatureStatisticsList();
        foreach (var split in splits)
        {
            var statistics = merged[split].Build(split);
            all.Datasets.Add(statistics);
            var one = new DatasetFeatureStatisticsList { Datasets = [statistics] };
            await output.WriteTextAsync(StatisticsPath(split), one.ToJson(), cancellation).ConfigureAwait(false);
            output.Properties[MlProperties.RowCountPrefix + split] = statistics.NumExamples;
        }

        await output.WriteTextAsync(ReportPath, StatisticsReport.ToHtml(all, $"Statistics of {context.PipelineName}/{context.NodeId}"), cancellation).ConfigureAwait(false);
        await output.WriteTextAsync(TableSchemaPath, TableSchemaJson.Write(firstSchema!), cancellation).ConfigureAwait(false);
        ArtifactFiles.CopySpanAndVersion(examples.Artifact, output);
        output.Properties[MlProperties.SplitNames] = ArtifactFiles.SplitNamesJson(splits);
        output.Properties["shard_count"] = (long)shards.Count;
    }

    /// <summary>The second pass: exact standard-histogram counts for the splits whose first pass could not give them.</summary>
    private static async Task CountHistogramsAsync(List<Shard> shards, string[] locals, Dictionary<string, StatisticsBuilder> merged, int parallelism, CancellationToken cancellation)
    {
        var passes = new HistogramPass?[shards.Count];
        for (var i = 0; i < shards.Count; i++)
        {
            passes[i] = merged[shards[i].Split].CreateHistogramPass();
        }

        await Parallel.ForEachAsync(
            Enumerable.Range(0, shards.Count).Where(i => passes[i] is not null),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellation },
            (i, ct) =>
            {
                foreach (var batch in Open(locals[i]).ReadBatches(ct))
                {
                    passes[i]!.Add(batch);
                }

                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);
        foreach (var (split, builder) in merged)
        {
            HistogramPass? total = null;
            for (var i = 0; i < shards.Count; i++)
            {
                if (shards[i].Split != split || passes[i] is not { } pass)
                {
                    continue;
                }

                if (total is null)
                {
                    total = pass;
                }
                else
                {
                    total.Merge(pass);
                }
            }

            if (total is not null)
            {
                builder.CompleteHistogramPass(total);
            }
        }
    }

    private static IEnumerable<string> ShardsOf(InputArtifact examples, string split)
    {
        var prefix = $"Split-{split}/";
        var inSplit = examples.Files.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)).Select(f => f.Path).ToList();
        var columnar = inSplit.Where(p => p.EndsWith(ColumnarFormat.Extension, StringComparison.Ordinal)).ToList();
        return (columnar.Count > 0 ? columnar : inSplit.Where(p => p.Contains("tfrecord", StringComparison.OrdinalIgnoreCase)).ToList()).Order(StringComparer.Ordinal);
    }

    private static IRecordBatchReader Open(string local) =>
        local.EndsWith(ColumnarFormat.Extension, StringComparison.Ordinal)
            ? new ColumnarReader([local])
            : TfExampleReader.Open([local], new TfExampleReadOptions());

    private sealed record Shard(string Split, int Index, string Path);
}
