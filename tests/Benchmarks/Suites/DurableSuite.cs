namespace Benchmarks.Suites;

/// <summary>
/// The durable runtime's throughput, on the real runtime only (the home-made engine is gone): <c>--backend sqlite</c>
/// (default) runs <see cref="SqliteProviderSuite"/> (the SQLite provider under DTFx's dispatchers), <c>--backend
/// azurestorage</c> runs <see cref="DurableHostingBench"/> (DTFx's Azure Storage provider on an Azurite started for the run).
/// Same metric names for both: <c>sequential_activities_per_s</c>, <c>fanout_activities_per_s</c>,
/// <c>hello_sequence5_orchestrations_per_s</c>, <c>replay_10k_events_ms</c>, <c>replay_10k_events_peak_mb</c>.
/// </summary>
public sealed class DurableSuite : IBenchmarkSuite
{
    /// <inheritdoc/>
    public string Name => "durable";

    /// <inheritdoc/>
    public async Task RunAsync(BenchmarkContext context)
    {
        var backend = context.Options.Get("backend", "sqlite");
        switch (backend)
        {
            case "azurestorage":
                await DurableHostingBench.RunAsync(context);
                break;
            case "sqlite":
                await new SqliteProviderSuite().RunAsync(context);
                break;
            default:
                throw new ArgumentException($"unknown --backend '{backend}' (sqlite, azurestorage); the old engine's memory and azure backends were removed with it");
        }
    }
}
