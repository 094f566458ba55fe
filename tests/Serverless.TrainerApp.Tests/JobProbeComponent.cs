using System.Globalization;
using System.Text.Json;
using Serverless.Ml.Components.Trainer;
using Serverless.Pipelines;

namespace Serverless.TrainerApp.Tests;

/// <summary>
/// A stand-in for the Trainer that the tests steer: counts <c>steps</c> optimizer steps, checkpointing the step after each in
/// the Trainer's checkpoint file (<see cref="TrainerExecutor.CheckpointPath"/>, so the trainer app's checkpoint copies apply),
/// resumes from it, waits at <c>pause_at_step</c> until the <c>gate</c> file exists (a test kills it there), fails with
/// <c>fail_with</c> when set, and logs each start, step and end to <c>log</c>. Output: a ModelRun with <c>training.json</c>
/// (steps, resumed_from_step, worker_pid) and the same as properties.
/// </summary>
public sealed class JobProbeComponent : Component
{
    /// <summary>The component type.</summary>
    public const string TypeName = "JobProbe";

    /// <inheritdoc/>
    public override ComponentSpec Spec { get; } = new()
    {
        Type = TypeName,
        Version = "1",
        Outputs = [new ChannelSpec("model_run", ArtifactTypes.ModelRun)],
        Parameters =
        [
            new ParameterSpec("steps", ParameterType.Int, Default: 5L),
            new ParameterSpec("pause_at_step", ParameterType.Int, Default: 0L),
            new ParameterSpec("gate", ParameterType.String, Default: ""),
            new ParameterSpec("fail_with", ParameterType.String, Default: ""),
            new ParameterSpec("log", ParameterType.String, Default: ""),
        ],
    };

    /// <inheritdoc/>
    public override IComponentExecutor CreateExecutor() => new Executor();

    private sealed class Executor : IComponentExecutor
    {
        public async Task ExecuteAsync(IReadOnlyDictionary<string, InputArtifact> inputs, IReadOnlyDictionary<string, OutputArtifact> outputs, ComponentParameters parameters, ExecutorContext context, CancellationToken cancellation = default)
        {
            var log = parameters.GetString("log");
            async Task Log(string line)
            {
                if (log.Length > 0) await File.AppendAllTextAsync(log, line + "\n", cancellation);
            }

            var checkpoint = TrainerExecutor.CheckpointPath(string.Empty, context);
            Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
            var resumed = File.Exists(checkpoint) ? int.Parse(await File.ReadAllTextAsync(checkpoint, cancellation), CultureInfo.InvariantCulture) : 0;
            await Log($"start {resumed}");
            if (parameters.GetString("fail_with") is { Length: > 0 } error)
            {
                throw new InvalidOperationException(error);
            }

            var steps = (int)parameters.GetInt64("steps");
            var pause = (int)parameters.GetInt64("pause_at_step");
            for (var step = resumed + 1; step <= steps; step++)
            {
                var temporary = checkpoint + ".tmp";
                await File.WriteAllTextAsync(temporary, step.ToString(CultureInfo.InvariantCulture), cancellation);
                File.Move(temporary, checkpoint, overwrite: true);
                await Log($"step {step}");
                if (step == pause)
                {
                    await Log($"paused {step}");
                    while (!File.Exists(parameters.GetString("gate")))
                    {
                        await Task.Delay(50, cancellation);
                    }
                }
            }

            var output = outputs["model_run"];
            await output.WriteTextAsync("training.json", JsonSerializer.Serialize(new { steps, resumed_from_step = resumed, worker_pid = Environment.ProcessId }), cancellation);
            output.Properties["steps"] = (long)steps;
            output.Properties["resumed_from_step"] = (long)resumed;
            output.Properties["worker_pid"] = (long)Environment.ProcessId;
            await Log("end");
        }
    }
}
