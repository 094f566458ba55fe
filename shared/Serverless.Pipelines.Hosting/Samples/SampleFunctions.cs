using Microsoft.DurableTask;

namespace Serverless.Pipelines.Hosting.Samples;

/// <summary>
/// The sample workflow that the main job runs end to end: a sequence of activities, a fan-out/fan-in,
/// a durable timer and a custom status, written exactly as a Durable Functions orchestrator would be
/// (Microsoft.DurableTask's programming model, registered with the SDK's own registry).
/// </summary>
public static class SampleFunctions
{
    /// <summary>Registers the sample orchestrator and its activities.</summary>
    public static void Register(DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.AddOrchestrator<SampleWorkflow>(nameof(SampleWorkflow));
        registry.AddActivityFunc<string, string>("SayHello", (_, city) => $"Hello {city}!");
        registry.AddActivityFunc<string, int>("CountLetters", (_, text) => text.Count(char.IsLetter));
    }
}

/// <summary>Input of <see cref="SampleWorkflow"/>.</summary>
/// <param name="Cities">Cities to greet.</param>
/// <param name="PauseSeconds">Length of the durable timer between the two phases.</param>
public sealed record SampleInput(IReadOnlyList<string> Cities, double PauseSeconds = 1);

/// <summary>Output of <see cref="SampleWorkflow"/>.</summary>
/// <param name="Greetings">One greeting per city, in order.</param>
/// <param name="TotalLetters">Letters in all greetings, counted in parallel.</param>
/// <param name="Id">A replay-safe GUID made by the orchestration.</param>
public sealed record SampleOutput(IReadOnlyList<string> Greetings, int TotalLetters, Guid Id);

/// <summary>Greets each city in sequence, waits on a durable timer, then counts letters in parallel.</summary>
[DurableTask(nameof(SampleWorkflow))]
public sealed class SampleWorkflow : TaskOrchestrator<SampleInput, SampleOutput>
{
    /// <inheritdoc/>
    public override async Task<SampleOutput> RunAsync(TaskOrchestrationContext context, SampleInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var greetings = new List<string>();
        foreach (var city in input.Cities)
        {
            greetings.Add(await context.CallActivityAsync<string>("SayHello", city));
            context.SetCustomStatus(new { phase = "greeting", done = greetings.Count, of = input.Cities.Count });
        }

        context.SetCustomStatus(new { phase = "pausing", seconds = input.PauseSeconds });
        await context.CreateTimer(TimeSpan.FromSeconds(input.PauseSeconds), CancellationToken.None);
        var counts = await Task.WhenAll(greetings.Select(g => context.CallActivityAsync<int>("CountLetters", g)));
        context.SetCustomStatus(new { phase = "done" });
        return new SampleOutput(greetings, counts.Sum(), context.NewGuid());
    }
}
