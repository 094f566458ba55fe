using System.Globalization;
using Serverless.Pipelines;

namespace Serverless.FunctionApp.Tests;

/// <summary>
/// A slow component for crash tests, loaded by the CLI from this assembly (<c>SERVERLESS_COMPONENTS</c>): it appends
/// "start NODE" / "end NODE" lines to the file <c>log</c>, sleeping <c>seconds</c> in between, and passes examples on.
/// </summary>
public sealed class SleepComponent : Component
{
    /// <inheritdoc/>
    public override ComponentSpec Spec { get; } = new()
    {
        Type = "Sleep",
        Version = "1",
        Inputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
        Outputs = [new ChannelSpec("examples", ArtifactTypes.Examples)],
        Parameters = [new ParameterSpec("seconds", ParameterType.Double, Default: 0.0), new ParameterSpec("log", ParameterType.String)],
    };

    /// <inheritdoc/>
    public override IComponentExecutor CreateExecutor() => new Executor();

    private sealed class Executor : IComponentExecutor
    {
        public async Task ExecuteAsync(IReadOnlyDictionary<string, InputArtifact> inputs, IReadOnlyDictionary<string, OutputArtifact> outputs, ComponentParameters parameters, ExecutorContext context, CancellationToken cancellation = default)
        {
            var log = parameters.GetString("log");
            await File.AppendAllTextAsync(log, $"start {context.NodeId}\n", cancellation);
            await Task.Delay(TimeSpan.FromSeconds(parameters.GetDouble("seconds")), cancellation);
            foreach (var file in inputs["examples"].Files)
            {
                await using var stream = await inputs["examples"].OpenReadAsync(file.Path, cancellation);
                await outputs["examples"].WriteAsync(file.Path, stream, cancellation);
            }

            await File.AppendAllTextAsync(log, string.Create(CultureInfo.InvariantCulture, $"end {context.NodeId}\n"), cancellation);
        }
    }
}

/// <summary>A settable clock for the timer trigger.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref ticks), TimeSpan.Zero);

    public void Set(DateTimeOffset now) => Interlocked.Exchange(ref ticks, now.UtcTicks);
}

internal static class Repo
{
    /// <summary>The sample pipeline and data, copied beside the test binaries by the CLI project.</summary>
    public static string Samples => Path.Combine(AppContext.BaseDirectory, "samples");

    /// <summary>Copies the sample pipeline and its data into <paramref name="folder"/>; returns the pipeline file.</summary>
    public static string CopySample(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        File.Copy(Path.Combine(Samples, "data", "penguins.csv"), Path.Combine(folder, "data", "penguins.csv"), overwrite: true);
        var file = Path.Combine(folder, "penguins.yaml");
        File.Copy(Path.Combine(Samples, "penguins.yaml"), file, overwrite: true);
        return file;
    }
}
