using Serverless.Hosting.Configuration;
using Serverless.Testing.Azurite;

namespace Serverless.Hosting.Tests.Conformance;

/// <summary>The conformance suite's host on DTFx's Azure Storage provider against a private Azurite (free ports, data on disk).</summary>
public sealed class AzureStorageFixture : DurableHostFixture
{
    private AzuriteProcess? _azurite;

    /// <summary>The emulator this fixture started.</summary>
    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite is not started.");

    /// <summary>
    /// DTFx's Azure Storage provider sends timer and scheduled-start messages with a queue visibility delay, and queue
    /// visibility is set in whole seconds (the fraction is dropped): such a message can arrive up to a second before
    /// its due time.
    /// </summary>
    public override TimeSpan TimerGranularity => TimeSpan.FromSeconds(1);

    /// <inheritdoc/>
    protected override async Task<Action<DurableHostingOptions>> StartStorageAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        var hub = "conf" + Guid.NewGuid().ToString("N")[..12];
        // Short queue polling keeps the suite fast; extended sessions stay off so that every turn replays the history
        // (the replay and non-determinism cases depend on it).
        var json = $$"""
            {
              "extensions": {
                "durableTask": {
                  "hubName": "{{hub}}",
                  "storageProvider": { "type": "AzureStorage", "connectionStringName": "ConformanceStorage", "partitionCount": 2, "maxQueuePollingInterval": "00:00:00.100" },
                  "maxConcurrentActivityFunctions": 20,
                  "maxConcurrentOrchestratorFunctions": 20
                }
              }
            }
            """;
        var settings = HostJsonReader.Parse(json, "conformance-host.json");
        var connection = _azurite.ConnectionString;
        return o =>
        {
            o.Settings = settings;
            o.ReadAppSetting = name => name == "ConformanceStorage" ? connection : null;
            o.HomeDirectory = Path.GetTempPath();
        };
    }

    /// <inheritdoc/>
    protected override async Task StopStorageAsync()
    {
        if (_azurite is not null) await _azurite.DisposeAsync();
    }
}
