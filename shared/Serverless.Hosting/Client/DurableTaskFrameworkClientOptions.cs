using Microsoft.DurableTask;

namespace Serverless.Hosting.Client;

/// <summary>Settings of <see cref="DurableTaskFrameworkClient"/>.</summary>
public sealed class DurableTaskFrameworkClientOptions
{
    /// <summary>Serializes inputs, outputs and event payloads; must match the worker's. Default <see cref="DurableJson.Converter"/>.</summary>
    public DataConverter DataConverter { get; set; } = DurableJson.Converter;

    /// <summary>First interval between status reads while waiting for start or completion; doubles up to
    /// <see cref="MaxWaitPollingInterval"/>. Default 20 ms. (DTFx's Azure Storage client polls every 2 s.)</summary>
    public TimeSpan MinWaitPollingInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest interval between status reads while waiting. Default 500 ms.</summary>
    public TimeSpan MaxWaitPollingInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
