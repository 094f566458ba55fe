namespace Serverless.TrainerApp;

/// <summary>Settings of the trainer worker app; defaults match the function app's, so both share one task hub.</summary>
public sealed class TrainerWorkerOptions
{
    /// <summary>host.json (the function app's: same hub, storage provider and <c>extensions.pipelines</c> stores). Default null: built-in defaults under <see cref="HomeDirectory"/>.</summary>
    public string? HostJsonPath { get; set; }

    /// <summary>Home folder of embedded state. Default <c>$SERVERLESS_HOME</c> or <c>~/.serverless-ml</c>.</summary>
    public string HomeDirectory { get; set; } = Environment.GetEnvironmentVariable("SERVERLESS_HOME")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".serverless-ml");

    /// <summary>The pools served. Default <c>gpu</c> only; host.json's <c>workerPools</c> (the function app's) is ignored.</summary>
    public IReadOnlyList<string> Pools { get; set; } = ["gpu"];

    /// <summary>Activity lease; renewed while an activity runs, so it only bounds how long a killed worker's activity waits for redelivery. Default 30 s.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Trainings at once. Default host.json's <c>maxConcurrentActivityFunctions</c>, else the processor count.</summary>
    public int? MaxConcurrentActivities { get; set; }

    /// <summary>Parses <c>--host-json PATH --home DIR --pools gpu,... --lock-timeout SECONDS --max-activities N</c>.</summary>
    /// <exception cref="ArgumentException">An unknown option or a bad value.</exception>
    public static TrainerWorkerOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new TrainerWorkerOptions { HostJsonPath = File.Exists("host.json") ? Path.GetFullPath("host.json") : null };
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"option '{args[i]}' needs a value");
            }

            var value = args[i + 1];
            switch (args[i])
            {
                case "--host-json": options.HostJsonPath = Path.GetFullPath(value); break;
                case "--home": options.HomeDirectory = Path.GetFullPath(value); break;
                case "--pools": options.Pools = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--lock-timeout": options.LockTimeout = TimeSpan.FromSeconds(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture)); break;
                case "--max-activities": options.MaxConcurrentActivities = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'; options: --host-json, --home, --pools, --lock-timeout, --max-activities");
            }
        }

        return options;
    }
}
