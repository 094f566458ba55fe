using System.Globalization;
using NCrontab;

namespace Serverless.Pipelines.Hosting.Triggers;

/// <summary>
/// A six-field NCRONTAB expression as Azure Functions' timer trigger uses it:
/// <c>{second} {minute} {hour} {day} {month} {day-of-week}</c>, e.g. <c>0 0 3 * * *</c> (03:00:00 daily) or
/// <c>0 */5 * * * MON-FRI</c>. Parsing and occurrences come from the NCrontab package (the library the Functions host
/// uses), so a schedule means here what it means in Azure; this type only pins the six-field form, UTC, and an error
/// that says which expression failed. As in NCrontab, an occurrence must match every field, day of month and day of
/// week included, and day of week is 0-6 (0 = Sunday). Two mistakes NCrontab accepts silently are refused here, since a
/// schedule that runs at unexpected times is worse than an error: a step of 0 (<c>*/0</c>) and a reversed numeric range
/// (<c>5-1</c>).
/// </summary>
public sealed class NcrontabSchedule
{
    private static readonly CrontabSchedule.ParseOptions SixFields = new() { IncludingSeconds = true };
    private static readonly (string Name, CrontabFieldKind Kind)[] Fields =
    [
        ("second", CrontabFieldKind.Second), ("minute", CrontabFieldKind.Minute), ("hour", CrontabFieldKind.Hour),
        ("day", CrontabFieldKind.Day), ("month", CrontabFieldKind.Month), ("day-of-week", CrontabFieldKind.DayOfWeek),
    ];

    private readonly CrontabSchedule schedule;

    private NcrontabSchedule(string expression, CrontabSchedule schedule)
    {
        Expression = expression;
        this.schedule = schedule;
    }

    /// <summary>The expression as given.</summary>
    public string Expression { get; }

    /// <summary>Parses an expression.</summary>
    /// <exception cref="FormatException">Not six fields, or a field NCrontab rejects (its message names the field).</exception>
    public static NcrontabSchedule Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var count = expression.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Length;
        if (count != Fields.Length)
        {
            throw new FormatException($"NCRONTAB '{expression}': expected 6 fields ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}), found {count}");
        }

        var parts = expression.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            CheckField(expression, Fields[i].Name, Fields[i].Kind, parts[i]);
        }

        try
        {
            return new NcrontabSchedule(expression, CrontabSchedule.Parse(expression, SixFields));
        }
        catch (CrontabException e)
        {
            throw new FormatException($"NCRONTAB '{expression}': {e.Message}", e);
        }
    }

    /// <summary>True when <paramref name="expression"/> parses.</summary>
    public static bool TryParse(string expression, out NcrontabSchedule? schedule)
    {
        try
        {
            schedule = Parse(expression);
            return true;
        }
        catch (FormatException)
        {
            schedule = null;
            return false;
        }
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/> (UTC, whole seconds), or null if none within 10 years.</summary>
    public DateTime? GetNextOccurrence(DateTime after)
    {
        var start = new DateTime(after.Ticks - (after.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        var limit = start.AddYears(10);
        var next = schedule.GetNextOccurrence(start, limit);
        return next >= limit ? null : DateTime.SpecifyKind(next, DateTimeKind.Utc);
    }

    /// <summary>The occurrences in (<paramref name="after"/>, <paramref name="until"/>], in order.</summary>
    public IEnumerable<DateTime> GetOccurrences(DateTime after, DateTime until)
    {
        for (var t = GetNextOccurrence(after); t is { } v && v <= until; t = GetNextOccurrence(v))
        {
            yield return v;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Expression;

    // NCrontab's own field parser gives the reason; this names the field and refuses what NCrontab would misread.
    private static void CheckField(string expression, string name, CrontabFieldKind kind, string text)
    {
        FormatException Bad(string why, Exception? inner = null) => new($"NCRONTAB '{expression}': {name} field '{text}': {why}", inner);
        try
        {
            _ = CrontabField.Parse(kind, text);
        }
        catch (CrontabException e)
        {
            throw Bad(e.Message, e);
        }

        foreach (var item in text.Split(','))
        {
            var slash = item.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && int.TryParse(item[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var step) && step == 0)
            {
                throw Bad("step '0' must be a positive number");
            }

            var range = (slash < 0 ? item : item[..slash]).Split('-');
            if (range.Length == 2
                && int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                && int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out var to)
                && from > to)
            {
                throw Bad($"range {from}-{to} is reversed");
            }
        }
    }
}
