using System.Text.Json;

namespace Serverless.Pipelines.Components.CsvRowCount;

/// <summary>Runs <see cref="CsvRowCountComponent"/>, streaming each file once.</summary>
public sealed class CsvRowCountExecutor : IComponentExecutor
{
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
        var examples = inputs["examples"];
        var hasHeader = parameters.GetBoolean("has_header");
        var csv = examples.Files.Where(f => f.Path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)).ToList();
        var files = csv.Count > 0 ? csv : examples.Files.ToList();

        var counts = new List<object>();
        long total = 0;
        foreach (var file in files)
        {
            var stream = await examples.OpenReadAsync(file.Path, cancellation).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var records = await CountRecordsAsync(stream, cancellation).ConfigureAwait(false);
                var rows = hasHeader ? Math.Max(0, records - 1) : records;
                total += rows;
                counts.Add(new { path = file.Path, rows });
            }
        }

        var output = outputs["statistics"];
        await output.WriteTextAsync("row_count.json", JsonSerializer.Serialize(new { total_rows = total, files = counts }), cancellation).ConfigureAwait(false);
        output.Properties["row_count"] = total;
        output.Properties["file_count"] = (long)files.Count;
    }

    /// <summary>Counts CSV records: newlines inside double quotes do not end a record; blank lines are not records.</summary>
    public static async Task<long> CountRecordsAsync(Stream stream, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[1 << 16];
        long records = 0;
        var inQuotes = false;
        var lineHasContent = false;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellation).ConfigureAwait(false)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                switch (buffer[i])
                {
                    case (byte)'"':
                        inQuotes = !inQuotes;
                        lineHasContent = true;
                        break;
                    case (byte)'\n' when !inQuotes:
                        if (lineHasContent)
                        {
                            records++;
                        }

                        lineHasContent = false;
                        break;
                    case (byte)'\r' when !inQuotes:
                        break;
                    default:
                        lineHasContent = true;
                        break;
                }
            }
        }

        return lineHasContent ? records + 1 : records;
    }
}
