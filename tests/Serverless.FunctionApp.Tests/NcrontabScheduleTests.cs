using Serverless.Pipelines.Hosting.Triggers;

namespace Serverless.FunctionApp.Tests;

public sealed class NcrontabScheduleTests
{
    private static readonly DateTime Monday = new(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc); // 2026-01-05 is a Monday

    private static DateTime Next(string expression, DateTime after) => NcrontabSchedule.Parse(expression).GetNextOccurrence(after)!.Value;

    [Fact]
    public void GetNextOccurrence_DailyAtThree_SameDayThenNextDay()
    {
        Assert.Equal(Monday.AddHours(3), Next("0 0 3 * * *", Monday));
        Assert.Equal(Monday.AddDays(1).AddHours(3), Next("0 0 3 * * *", Monday.AddHours(3)));
    }

    [Fact]
    public void GetNextOccurrence_StepsAndRanges_MatchEveryField()
    {
        Assert.Equal(Monday.AddSeconds(15), Next("*/15 * * * * *", Monday));
        Assert.Equal(Monday.AddMinutes(5), Next("0 */5 * * * *", Monday.AddSeconds(1)));
        Assert.Equal(Monday.AddHours(9), Next("0 0 9-17 * * *", Monday));
        Assert.Equal(Monday.AddHours(11), Next("0 0 9-17/2 * * *", Monday.AddHours(9)));
        Assert.Equal(Monday.AddMinutes(30), Next("0 30/15 * * * *", Monday));
    }

    [Fact]
    public void GetNextOccurrence_ListsAndNames_MonthAndDayOfWeek()
    {
        Assert.Equal(Monday.AddHours(12), Next("0 0 0,12 * * *", Monday));
        Assert.Equal(new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc), Next("0 0 0 1 MAR *", Monday));
        Assert.Equal(new DateTime(2026, 1, 9, 8, 0, 0, DateTimeKind.Utc), Next("0 0 8 * * FRI", Monday)); // Friday
        Assert.Equal(new DateTime(2026, 1, 6, 8, 0, 0, DateTimeKind.Utc), Next("0 0 8 * * TUE-THU", Monday));
        Assert.Equal(new DateTime(2026, 1, 11, 0, 0, 0, DateTimeKind.Utc), Next("0 0 0 * * 0", Monday)); // Sunday
        Assert.Equal(new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc), Next("0 0 0 * * sat,sun", Monday));
    }

    [Fact]
    public void GetNextOccurrence_DayOfMonthAndDayOfWeek_BothMustMatch()
    {
        // Friday the 13th: the first in 2026 after January is February 13.
        Assert.Equal(new DateTime(2026, 2, 13, 0, 0, 0, DateTimeKind.Utc), Next("0 0 0 13 * FRI", Monday));
        Assert.Equal(new DateTime(2026, 2, 28, 0, 0, 0, DateTimeKind.Utc), Next("0 0 0 28-31 FEB *", Monday));
        Assert.Null(NcrontabSchedule.Parse("0 0 0 30 FEB *").GetNextOccurrence(Monday));
    }

    [Fact]
    public void GetOccurrences_EveryTwentySecondsOverOneMinute_ThreeOccurrences()
    {
        var all = NcrontabSchedule.Parse("*/20 * * * * *").GetOccurrences(Monday, Monday.AddMinutes(1)).ToList();
        Assert.Equal([Monday.AddSeconds(20), Monday.AddSeconds(40), Monday.AddMinutes(1)], all);
    }

    [Theory]
    [InlineData("0 0 3 * *", "expected 6 fields")]
    [InlineData("60 * * * * *", "second field '60': 60 is higher than the maximum allowable value")]
    [InlineData("0 0 25 * * *", "hour field")]
    [InlineData("0 0 0 0 * *", "day field")]
    [InlineData("0 0 0 * 13 *", "month field")]
    [InlineData("0 0 0 * * MOO", "day-of-week field 'MOO': 'MOO' is not a valid")]
    [InlineData("0 0 0 * * 7", "day-of-week field '7': 7 is higher than the maximum")] // NCrontab: day of week is 0-6 only
    [InlineData("0 */0 * * * *", "step '0' must be a positive number")]
    [InlineData("0 5-1 * * * *", "range 5-1 is reversed")]
    [InlineData("0 1,,2 * * * *", "minute field '1,,2': A crontab field value cannot be empty")]
    public void Parse_Malformed_FormatExceptionNamesField(string expression, string expected)
    {
        var e = Assert.Throws<FormatException>(() => NcrontabSchedule.Parse(expression));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
