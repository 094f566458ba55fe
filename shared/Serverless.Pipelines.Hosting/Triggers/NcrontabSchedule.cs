using System.Globalization;

namespace Serverless.Pipelines.Hosting.Triggers;

/// <summary>
/// A six-field NCRONTAB expression as Azure Functions' timer trigger uses it:
/// <c>{second} {minute} {hour} {day} {month} {day-of-week}</c>, e.g. <c>0 0 3 * * *</c> (03:00:00 daily) or
/// <c>0 */5 * * * MON-FRI</c>. Each field takes <c>*</c>, a value, a range <c>a-b</c>, a step <c>*/n</c> or
/// <c>a-b/n</c> or <c>a/n</c>, and comma lists of these; months take <c>JAN</c>-<c>DEC</c>, days of week
/// <c>SUN</c>-<c>SAT</c> (0 = Sunday; 7 is accepted as Sunday too). As in NCrontab, an occurrence must match every
/// field, day of month and day of week included. Times are UTC.
/// </summary>
public sealed class NcrontabSchedule
{
    private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    private readonly bool[] seconds, minutes, hours, days, months, daysOfWeek;

    private NcrontabSchedule(string expression, bool[][] fields)
    {
        Expression = expression;
        (seconds, minutes, hours, days, months, daysOfWeek) = (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]);
    }

    /// <summary>The expression as given.</summary>
    public string Expression { get; }

    /// <summary>Parses an expression.</summary>
    /// <exception cref="FormatException">Not six fields, or a field out of range or malformed (the message names the field).</exception>
    public static NcrontabSchedule Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var parts = expression.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 6)
        {
            throw new FormatException($"NCRONTAB '{expression}': expected 6 fields ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}), found {parts.Length}");
        }

        var fields = new[]
        {
            ParseField(expression, "second", parts[0], 0, 59, null),
            ParseField(expression, "minute", parts[1], 0, 59, null),
            ParseField(expression, "hour", parts[2], 0, 23, null),
            ParseField(expression, "day", parts[3], 1, 31, null),
            ParseField(expression, "month", parts[4], 1, 12, MonthNames),
            ParseField(expression, "day-of-week", parts[5], 0, 7, DayNames),
        };
        if (fields[5][7])
        {
            fields[5][0] = true;
        }

        return new NcrontabSchedule(expression, fields);
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
        var t = new DateTime(after.Ticks - (after.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc).AddSeconds(1);
        var limit = t.AddYears(10);
        while (t < limit)
        {
            if (!months[t.Month])
            {
                t = new DateTime(t.Year, t.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
            }
            else if (!days[t.Day] || !daysOfWeek[(int)t.DayOfWeek])
            {
                t = t.Date.AddDays(1);
            }
            else if (!hours[t.Hour])
            {
                t = t.Date.AddHours(t.Hour + 1);
            }
            else if (!minutes[t.Minute])
            {
                t = t.Date.AddHours(t.Hour).AddMinutes(t.Minute + 1);
            }
            else if (!seconds[t.Second])
            {
                t = t.AddSeconds(1);
            }
            else
            {
                return t;
            }
        }

        return null;
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

    private static bool[] ParseField(string expression, string name, string text, int min, int max, string[]? names)
    {
        var set = new bool[max + 1];
        FormatException Bad(string why) => new($"NCRONTAB '{expression}': {name} field '{text}': {why}");
        int Value(string s)
        {
            if (names is not null)
            {
                var index = Array.FindIndex(names, n => n.Equals(s, StringComparison.OrdinalIgnoreCase));
                if (index >= 0)
                {
                    return names == MonthNames ? index + 1 : index;
                }
            }

            if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            {
                throw Bad($"'{s}' is not a number{(names is null ? string.Empty : " or a name (" + string.Join(",", names) + ")")}");
            }

            return v < min || v > max ? throw Bad($"{v} is out of range {min}-{max}") : v;
        }

        foreach (var item in text.Split(','))
        {
            if (item.Length == 0)
            {
                throw Bad("empty list item");
            }

            var slash = item.IndexOf('/', StringComparison.Ordinal);
            var range = slash < 0 ? item : item[..slash];
            var step = 1;
            if (slash >= 0 && (!int.TryParse(item[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step <= 0))
            {
                throw Bad($"step '{item[(slash + 1)..]}' must be a positive number");
            }

            int from, to;
            if (range == "*")
            {
                (from, to) = (min, names == DayNames ? 6 : max);
            }
            else if (range.IndexOf('-', StringComparison.Ordinal) is var dash and > 0)
            {
                (from, to) = (Value(range[..dash]), Value(range[(dash + 1)..]));
                if (from > to)
                {
                    throw Bad($"range {from}-{to} is reversed");
                }
            }
            else
            {
                from = Value(range);
                to = slash >= 0 ? (names == DayNames ? 6 : max) : from;
            }

            for (var v = from; v <= to; v += step)
            {
                set[v] = true;
            }
        }

        return set;
    }
}
